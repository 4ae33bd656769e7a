// Bundles the CLI after `tsc` into one CommonJS file, dist/remoteclaw.cjs: @oclif/core, every
// command and hook, and the libraries they use. Why (figures in docs/performance.md): unbundled,
// `remoteclaw --version` reads ~200 files of oclif and its dependencies and a command such as
// `pairing list` ~600, which puts start-up at 2.5-5x a bare `node -e 0`. One file also lets
// bin/run.js compile it with V8's code cache (src/cli/code-cache.ts), which Node 20 has no
// other way to do. Each command is initialised lazily, on first use, through the explicit
// command strategy (package.json oclif.commands), so a light command never runs the code of
// a heavy one; oclif's help and autocomplete commands are bundled the same way. Native addons and
// oclif's optional TypeScript loaders stay external. `tsc` still writes dist/lib, dist/sim, dist/demo, dist/mcp-server.js.
import {build} from 'esbuild'
import fs from 'node:fs'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const src = path.join(root, 'src')
const outfile = path.join(root, 'dist', 'remoteclaw.cjs')

function walk(dir) {
  return fs
    .readdirSync(dir, {withFileTypes: true})
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const p = path.join(dir, e.name)
      if (e.isDirectory()) return walk(p)
      return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : []
    })
}

// oclif's command ids: commands/<topic>/<verb>.ts -> "topic:verb", <topic>/index.ts -> "topic".
const commandsDir = path.join(src, 'commands')
const commands = walk(commandsDir).map((file) => {
  const rel = path.relative(commandsDir, file).replace(/\.ts$/, '').split(path.sep)
  if (rel.at(-1) === 'index') rel.pop()
  return {id: rel.join(':'), file}
})

// The commands of oclif's help and autocomplete plugins are bundled as our own: loading them as
// plugins made every start find their package folders and read two manifests.
const pluginCommands = [
  {id: 'help', file: path.join(root, 'node_modules', '@oclif', 'plugin-help', 'lib', 'commands', 'help.js')},
  ...['index', 'create', 'script'].map((verb) => ({
    id: verb === 'index' ? 'autocomplete' : `autocomplete:${verb}`,
    file: path.join(root, 'node_modules', '@oclif', 'plugin-autocomplete', 'lib', 'commands', 'autocomplete', `${verb}.js`),
  })),
]
for (const c of pluginCommands) if (!fs.existsSync(c.file)) throw new Error(`bundle: ${c.file} is missing (oclif plugin layout changed?)`)
commands.push(...pluginCommands)

// `require()` of an ES module inside the bundle becomes a lazy initialiser: the command's
// module graph runs only when oclif asks for that command.
const entry = [
  "export {execute} from '@oclif/core/execute'",
  'export const COMMANDS = {}',
  ...commands.map(
    ({id, file}) =>
      `Object.defineProperty(COMMANDS, ${JSON.stringify(id)}, {enumerable: true, get: () => require(${JSON.stringify(file)}).default})`,
  ),
  `export function COMMAND_NOT_FOUND(opts) { return require(${JSON.stringify(path.join(src, 'hooks', 'command-not-found.ts'))}).default.call(this, opts) }`,
]
const pjson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const helpClass = pjson.oclif.helpClass
if (helpClass && typeof helpClass === 'object' && helpClass.identifier === 'HELP_CLASS') {
  entry.push(`export {default as HELP_CLASS} from ${JSON.stringify(path.join(src, 'cli', 'help.ts'))}`)
}

// Libraries only heavy commands use (running processes, the launchd plist, log rotation, config
// diffs) go to their own files in dist/vendor/, required on first use: the main bundle is read
// in full on every start, so what light commands never run should not be in it.
const VENDOR = ['execa', 'plist', 'rotating-file-stream', 'diff']
const vendorDir = path.join(root, 'dist', 'vendor')
fs.rmSync(vendorDir, {recursive: true, force: true})
await Promise.all(
  VENDOR.map((name) =>
    build({
      stdin: {contents: `export * from ${JSON.stringify(name)}`, resolveDir: root, sourcefile: `vendor-${name}.js`, loader: 'js'},
      outfile: path.join(vendorDir, `${name}.cjs`),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      minifyWhitespace: true,
      minifySyntax: true,
      legalComments: 'none',
      logLevel: 'warning',
    }),
  ),
)
// bin/run.js's loader (the code cache), as one small CommonJS file: required synchronously,
// it spares start-up two ES module loads.
await build({
  entryPoints: [path.join(src, 'cli', 'code-cache.ts')],
  outfile: path.join(root, 'dist', 'loader.cjs'),
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  logLevel: 'warning',
})
const vendorLinks = {
  name: 'vendor-links',
  setup(b) {
    b.onResolve({filter: new RegExp(`^(${VENDOR.join('|')})$`)}, (args) => ({path: `./vendor/${args.path}.cjs`, external: true}))
  },
}

// Two things oclif does on every start that cost more than the rest of its set-up, patched in
// its own files as they are bundled (each edit only stops matching if oclif changes; then the
// start is slower, nothing breaks):
// - it requires Node built-ins a start never uses: child_process (Windows shells only), readline
//   (flags read from stdin), perf_hooks (performance debugging). With the net, stream and dgram
//   modules child_process pulls in, they become proxies that require the module on first use;
// - it sorts the command list with localeCompare, whose first call sets up ICU's collator
//   (8 ms here). Command ids are ASCII, so a plain comparison gives the same order.
const LAZY_BUILTINS = /const (\w+) = require\("(node:(?:child_process|readline|perf_hooks))"\);/g
const LOCALE_SORT = '.sort((a, b) => a.id.localeCompare(b.id))'
const lighterOclifStart = {
  name: 'lighter-oclif-start',
  setup(b) {
    b.onLoad({filter: /[\\/]@oclif[\\/]core[\\/]lib[\\/].*\.js$/}, (args) => {
      const text = fs.readFileSync(args.path, 'utf8')
      const lighter = text
        .replace(LAZY_BUILTINS, 'const $1 = __rcLazyBuiltin("$2");')
        .replaceAll(LOCALE_SORT, '.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))')
      return lighter === text ? undefined : {contents: lighter, loader: 'js'}
    })
  },
}

// oclif asks wsl-utils on every start whether this is WSL (config.platform); wsl-utils also
// loads child_process and PowerShell helpers, which only Windows shells need. oclif gets isWsl
// from is-wsl directly and the rest of wsl-utils on first use.
const lightWslUtils = {
  name: 'light-wsl-utils',
  setup(b) {
    b.onResolve({filter: /^wsl-utils$/}, async (args) => {
      if (args.pluginData === 'real' || !/[\\/]@oclif[\\/]core[\\/]/.test(args.importer)) return undefined
      const real = await b.resolve('wsl-utils', {resolveDir: args.resolveDir, kind: 'import-statement', pluginData: 'real'})
      return {path: real.path, namespace: 'light-wsl-utils'}
    })
    b.onLoad({filter: /.*/, namespace: 'light-wsl-utils'}, (args) => ({
      resolveDir: path.dirname(args.path),
      loader: 'js',
      contents: `export {default as isWsl} from 'is-wsl'
        export const powerShellPath = async (...a) => (await import(${JSON.stringify(args.path)})).powerShellPath(...a)`,
    }))
  },
}

const result = await build({
  stdin: {contents: entry.join('\n'), resolveDir: root, sourcefile: 'remoteclaw-entry.js', loader: 'js'},
  outfile,
  bundle: true,
  charset: 'ascii',
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  // @inquirer (with iconv-lite, half a megabyte) is only for prompts: loaded from node_modules.
  external: ['better-sqlite3', 'ssh2', 'cpu-features', 'typescript', 'ts-node', '@inquirer/*'],
  // The few import.meta uses (locating dist/mcp-server.js) get the bundle's own URL.
  define: {'import.meta.url': '__rcImportMetaUrl', 'import.meta.resolve': '__rcImportMetaResolve'},
  banner: {
    js: "const __rcLazyBuiltin=(id)=>{let m;const load=()=>m??=require(id);return new Proxy(function(){},{get:(_,k)=>load()[k],has:(_,k)=>k in load(),apply:(_,t,a)=>load().apply(t,a)})};const __rcImport=(s)=>(globalThis.__rcDynamicImport??((x)=>import(x)))(s.startsWith('.')?require('node:url').pathToFileURL(require('node:path').resolve(__dirname,s)).href:s);const __rcImportMetaUrl=require('node:url').pathToFileURL(__filename).href;const __rcImportMetaResolve=(s)=>require('node:url').pathToFileURL(require.resolve(s)).href;",
  },
  plugins: [vendorLinks, lighterOclifStart, lightWslUtils],
  minifyWhitespace: true,
  minifySyntax: true,
  minifyIdentifiers: process.env.BUNDLE_KEEP_IDENTIFIERS !== '1',
  keepNames: true,
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
})
// Code compiled through vm.Script (the code cache) cannot call import() on Node 20 (not without
// an experimental flag, and not at all on a cache hit). The import() calls esbuild leaves are
// those of modules it does not bundle: oclif's module loader (plugins, ES module hooks), lilconfig,
// our lazy `import('@inquirer/prompts')`, Node built-ins. They go through __rcImport: bin/run.js provides one from ES
// module scope, and a plain require() of the bundle (oclif manifest, in-process tests) falls
// back to its own (the banner's, which is why the banner's own import( is kept). A relative
// specifier (dist/vendor/) is resolved against the bundle, not against bin/run.js.
// ASCII only, too, so bin/run.js can read the bundle as latin1, a plain copy, instead of
// decoding UTF-8. esbuild escapes non-ASCII except inside regular expression literals, where
// \uXXXX works as well.
const BANNER_IMPORT = '??((x)=>import(x))'
const text = fs.readFileSync(outfile, 'utf8')
const [banner, ...rest] = text.split(BANNER_IMPORT)
let rewritten = 0
const body = rest
  .join(BANNER_IMPORT)
  .replace(/(?<![\w$.'"`])import\(/g, () => (rewritten++, '__rcImport('))
  .replace(/[^\x00-\x7f]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'))
fs.writeFileSync(outfile, banner + BANNER_IMPORT + body)
if (process.env.BUNDLE_META) fs.writeFileSync(process.env.BUNDLE_META, JSON.stringify(result.metafile))
const kib = fs.statSync(outfile).size / 1024
console.log(`bundle: ${commands.length} commands -> dist/remoteclaw.cjs (${kib.toFixed(0)} KiB, ${rewritten} import() via __rcImport), dist/vendor/: ${VENDOR.join(", ")}`)
