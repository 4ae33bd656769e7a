/**
 * The wizard asks through this interface so its flows run with scripted answers in tests;
 * the command wires @inquirer/prompts (inquirerPrompter). Ctrl-C at an inquirer prompt throws
 * ExitPromptError, which BaseCommand maps to exit 130.
 */
export interface Choice<T extends string = string> {
  value: T
  name: string
  description?: string
}

export interface Prompter {
  select<T extends string>(q: {message: string; choices: Choice<T>[]; default?: T}): Promise<T>
  input(q: {message: string; default?: string; validate?: (value: string) => true | string}): Promise<string>
  confirm(q: {message: string; default?: boolean}): Promise<boolean>
}

/** The real prompter; imported lazily so lib code never loads inquirer when it does not prompt. */
export async function inquirerPrompter(): Promise<Prompter> {
  const {select, input, confirm} = await import('@inquirer/prompts')
  return {
    select: (q) => select({message: q.message, choices: q.choices, default: q.default}),
    input: (q) => input({message: q.message, default: q.default, validate: q.validate}),
    confirm: (q) => confirm({message: q.message, default: q.default}),
  }
}

/** One scripted answer: matched to a prompt by a substring (or regexp) of its message. */
export interface ScriptedAnswer {
  match: string | RegExp
  answer: string | boolean | Error
}

/**
 * A prompter that answers from a script, in order, and fails loudly on an unexpected
 * question, so a test notices when the wizard asks something it should have detected.
 * `asked` records every message shown.
 */
export function scriptedPrompter(script: ScriptedAnswer[]): Prompter & {asked: string[]; remaining: () => ScriptedAnswer[]} {
  const queue = [...script]
  const asked: string[] = []
  const next = (message: string): string | boolean => {
    asked.push(message)
    const step = queue.shift()
    if (!step) throw new Error(`unexpected prompt: "${message}"`)
    const ok = typeof step.match === 'string' ? message.includes(step.match) : step.match.test(message)
    if (!ok) throw new Error(`prompt "${message}" does not match the scripted ${String(step.match)}`)
    if (step.answer instanceof Error) throw step.answer
    return step.answer
  }
  return {
    asked,
    remaining: () => [...queue],
    async select(q) {
      const a = next(q.message)
      const v = a === '' && q.default !== undefined ? q.default : String(a)
      if (!q.choices.some((c) => c.value === v)) throw new Error(`"${v}" is not a choice of "${q.message}"`)
      return v as typeof q.default & string
    },
    async input(q) {
      const a = next(q.message)
      const v = a === '' && q.default !== undefined ? q.default : String(a)
      const valid = q.validate?.(v) ?? true
      if (valid !== true) throw new Error(`scripted answer "${v}" rejected: ${valid}`)
      return v
    },
    async confirm(q) {
      const a = next(q.message)
      return typeof a === 'boolean' ? a : a === '' ? Boolean(q.default) : /^y/i.test(a)
    },
  }
}
