import {expect} from 'chai'
import fs from 'node:fs'
import path from 'node:path'
import {REPO_ROOT} from '../helpers/cli.js'

/**
 * The README and docs/*.md link to each other by file and heading; a renamed heading or moved
 * page breaks those links silently on GitHub. This checks every relative link resolves, with
 * GitHub's heading anchors, and that each docs page opens with a contents list.
 */

/** GitHub's anchor for a heading: lowercase, punctuation except '-' and '_' dropped, spaces to '-'. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replaceAll(/[^\p{L}\p{N}\p{M}_\- ]/gu, '')
    .replaceAll(' ', '-')
}

const FENCE = /^\s*(```|~~~)/

/** The lines outside fenced code blocks, as [line number, text]. */
function proseLines(md: string): Array<[number, string]> {
  const out: Array<[number, string]> = []
  let fence: string | undefined
  for (const [i, line] of md.split('\n').entries()) {
    const m = FENCE.exec(line)
    if (m) {
      if (fence === undefined) fence = m[1]
      else if (m[1] === fence) fence = undefined
      continue
    }
    if (fence === undefined) out.push([i + 1, line])
  }
  return out
}

export interface Heading {
  level: number
  text: string
  anchor: string
}

export function headings(md: string): Heading[] {
  const seen = new Map<string, number>()
  const out: Heading[] = []
  for (const [, line] of proseLines(md)) {
    const m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line)
    if (!m) continue
    const base = slug(m[2]!)
    const n = seen.get(base) ?? 0
    seen.set(base, n + 1)
    out.push({level: m[1]!.length, text: m[2]!, anchor: n === 0 ? base : `${base}-${n}`})
  }
  return out
}

export interface Link {
  line: number
  target: string
}

/** Inline links `[text](target)` outside code blocks and code spans. */
export function links(md: string): Link[] {
  const out: Link[] = []
  const lines = proseLines(md)
  // code spans may wrap across lines: blank them over the joined prose, keeping line breaks
  const text = lines.map(([, l]) => l).join('\n').replaceAll(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)|(`+)[^`\n]\2(?!`)/g, (s) => s.replaceAll(/[^\n]/g, ' '))
  for (const [i, l] of text.split('\n').entries()) {
    for (const m of l.matchAll(/\]\(([^()\s]+)(?:\s+"[^"]*")?\)/g)) out.push({line: lines[i]![0], target: m[1]!})
  }
  return out
}

/** Problems with the relative links of one file, as "file:line: target: reason". */
export function brokenLinks(file: string, read: (f: string) => string | undefined): string[] {
  const md = read(file)!
  const problems: string[] = []
  for (const {line, target} of links(md)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue // http:, https:, mailto:
    const [p, fragment] = target.split('#', 2) as [string, string | undefined]
    const dest = p === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), p))
    const where = `${file}:${line}: ${target}`
    const content = read(dest)
    if (content === undefined) {
      problems.push(`${where}: no file ${dest}`)
      continue
    }
    if (fragment === undefined) continue
    if (!dest.endsWith('.md')) problems.push(`${where}: a fragment on a file that is not markdown`)
    else if (!headings(content).some((h) => h.anchor === fragment)) problems.push(`${where}: ${dest} has no heading #${fragment}`)
  }
  return problems
}

/** Problems with a docs page's title and contents list. */
export function contentsProblems(file: string, md: string): string[] {
  const hs = headings(md)
  const problems: string[] = []
  if (!md.startsWith('# ') || hs[0]?.level !== 1) problems.push(`${file}: does not start with a "# " title`)
  const lines = md.split('\n')
  const start = lines.indexOf('## Contents')
  if (start < 0) return [...problems, `${file}: no "## Contents" section`]
  const list: string[] = []
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break
    const m = /^\s*- \[.*\]\(#([^)]+)\)\s*$/.exec(line)
    if (m) list.push(m[1]!)
    else if (line.trim() !== '') problems.push(`${file}: the contents list has a line that is not a link to a heading: ${line}`)
  }
  for (const h of hs) {
    if (h.level === 2 && h.text !== 'Contents' && !list.includes(h.anchor)) problems.push(`${file}: "## ${h.text}" is missing from the contents list`)
  }
  if (list.length === 0) problems.push(`${file}: the contents list is empty`)
  return problems
}

const readRepo = (f: string): string | undefined => {
  const abs = path.join(REPO_ROOT, f)
  if (!fs.existsSync(abs)) return undefined
  return fs.statSync(abs).isDirectory() ? '' : fs.readFileSync(abs, 'utf8')
}
const docsPages = fs.readdirSync(path.join(REPO_ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)

describe('documentation links (README.md and docs/*.md)', () => {
  it('every relative link resolves to a file and, with a #fragment, to a heading of that file', () => {
    expect(docsPages.length).to.be.greaterThan(5)
    const problems = ['README.md', ...docsPages].flatMap((f) => brokenLinks(f, readRepo))
    expect(problems, problems.join('\n')).to.deep.equal([])
  })

  it('every docs page has a title and a contents list linking each of its ## headings', () => {
    const problems = docsPages.flatMap((f) => contentsProblems(f, readRepo(f)!))
    expect(problems, problems.join('\n')).to.deep.equal([])
  })

  it('the README links every docs page', () => {
    const linked = new Set(links(readRepo('README.md')!).map((l) => l.target.split('#')[0]))
    expect(docsPages.filter((p) => !linked.has(p))).to.deep.equal([])
  })

  describe('the checker itself', () => {
    it('makes GitHub anchors', () => {
      expect(slug('Config reload and `/config`')).to.equal('config-reload-and-config')
      expect(slug('Checking the channel: `remoteclaw channels status`')).to.equal('checking-the-channel-remoteclaw-channels-status')
      expect(slug('Chunker (`npm run bench:chunker`)')).to.equal('chunker-npm-run-benchchunker')
      expect(slug('Errors under `--json`')).to.equal('errors-under---json')
      expect(slug('Nothing lost, nothing answered twice')).to.equal('nothing-lost-nothing-answered-twice')
      expect(slug('snake_case and Ünïcode')).to.equal('snake_case-and-ünïcode')
      expect(headings('# A\n## Same\n## Same\n').map((h) => h.anchor)).to.deep.equal(['a', 'same', 'same-1'])
    })

    it('ignores headings and links in code, and finds broken files and fragments', () => {
      const files: Record<string, string> = {
        'README.md': '# R\n[ok](docs/a.md#real) [bad](docs/a.md#nope) [gone](docs/b.md) [self](#r) [web](https://x.y/#z)\n`[code](docs/c.md)`\n',
        'docs/a.md': '# A\n```sh\n#!/bin/sh\n## fenced\n[x](nowhere.md)\n```\n## Real\n[up](../README.md#r) [fenced](#fenced)\n',
      }
      const problems = ['README.md', 'docs/a.md'].flatMap((f) => brokenLinks(f, (p) => files[p]))
      expect(problems).to.deep.equal([
        'README.md:2: docs/a.md#nope: docs/a.md has no heading #nope',
        'README.md:2: docs/b.md: no file docs/b.md',
        'docs/a.md:8: #fenced: docs/a.md has no heading #fenced',
      ])
    })

    it('finds a missing contents list and a heading left out of it', () => {
      expect(contentsProblems('d.md', '# T\n\nintro\n\n## One\n')).to.deep.equal(['d.md: no "## Contents" section'])
      expect(contentsProblems('d.md', '# T\n\n## Contents\n\n- [One](#one)\n\n## One\n## Two\n')).to.deep.equal([
        'd.md: "## Two" is missing from the contents list',
      ])
      expect(contentsProblems('d.md', '# T\n\n## Contents\n\n- [One](#one)\n\n## One\n')).to.deep.equal([])
    })
  })
})
