/** Handle normalisation lives with the imsg client (one implementation for matching everywhere). */
export {normalizeHandle} from '../imsg/handles.js'
