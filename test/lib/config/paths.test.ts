import {expect} from 'chai'
import fc from 'fast-check'
import {ExitCode, UsageError} from '../../../src/lib/errors.js'
import {formatPath, getAtPath, parsePath, type PathSegment} from '../../../src/lib/config/paths.js'

function usageError(fn: () => unknown): UsageError {
  try {
    fn()
  } catch (error) {
    expect(error).to.be.instanceOf(UsageError)
    return error as UsageError
  }
  expect.fail('expected a UsageError')
}

describe('config paths', () => {
  it('parses dotted keys, indexes and quoted bracket keys', () => {
    expect(parsePath('a.b.c')).to.deep.equal(['a', 'b', 'c'])
    expect(parsePath('agents.list[0].id')).to.deep.equal(['agents', 'list', 0, 'id'])
    expect(parsePath('channels.imessage.groups["42"].requireMention')).to.deep.equal(['channels', 'imessage', 'groups', '42', 'requireMention'])
    expect(parsePath("groups['a.b']")).to.deep.equal(['groups', 'a.b'])
    expect(parsePath('groups["*"]')).to.deep.equal(['groups', '*'])
    expect(parsePath('a["say \\"hi\\""]')).to.deep.equal(['a', 'say "hi"'])
    expect(parsePath("a['it\\'s']")).to.deep.equal(['a', "it's"])
    expect(parsePath('a["\\u0041\\\\"]')).to.deep.equal(['a', 'A\\'])
    expect(parsePath('list[2][0]')).to.deep.equal(['list', 2, 0])
    expect(parsePath('accounts.my-bot.cliPath')).to.deep.equal(['accounts', 'my-bot', 'cliPath'])
    expect(parsePath('groups.42')).to.deep.equal(['groups', '42'])
  })

  it('rejects malformed paths with a usage error (exit 2) that shows the syntax', () => {
    for (const bad of ['', 'a..b', '.a', 'a.', 'a[', 'a[x]', 'a["x"', 'a["x"]b', 'a[01]', 'a.["x"]', 'a b']) {
      const e = usageError(() => parsePath(bad))
      expect(e.exitCode, bad).to.equal(ExitCode.USAGE)
      expect(e.fix).to.match(/groups\["42"\]/)
    }
  })

  it('refuses __proto__, constructor and prototype segments in any form', () => {
    for (const bad of ['__proto__.x', 'a.__proto__', 'a["__proto__"]', "a['constructor'].b", 'x.prototype', 'a["\\u005f_proto__"]']) {
      const e = usageError(() => parsePath(bad))
      expect(e.exitCode, bad).to.equal(2)
      expect(e.message).to.match(/reserved key/)
    }
  })

  it('formats canonically', () => {
    expect(formatPath(['channels', 'imessage', 'groups', '42', 'requireMention'])).to.equal('channels.imessage.groups["42"].requireMention')
    expect(formatPath(['agents', 'list', 0, 'id'])).to.equal('agents.list[0].id')
    expect(formatPath(['a', 'x.y', 'q"z'])).to.equal('a["x.y"]["q\\"z"]')
  })

  const segment: fc.Arbitrary<PathSegment> = fc.oneof(
    fc.string({unit: 'grapheme', maxLength: 12}).filter((s) => !['__proto__', 'constructor', 'prototype'].includes(s)),
    fc.constantFrom('42', '0', 'a.b', '*', '"', "'", '\\', '[0]', 'a b', 'dmPolicy', '-x', '$'),
    fc.nat({max: 1000}),
  )
  const path = fc.array(segment, {minLength: 1, maxLength: 6}).filter((p) => typeof p[0] === 'string' || p.length > 0)

  it('round-trips: parse(format(segments)) == segments (arbitrary keys incl. dots, digits, quotes)', () => {
    fc.assert(
      fc.property(path, (segs) => {
        // a path cannot start with an index in text form ("[0].a" is fine too)
        expect(parsePath(formatPath(segs))).to.deep.equal(segs)
      }),
      {numRuns: 500},
    )
  })

  it('round-trips: format(parse(text)) is stable for any formatted path', () => {
    fc.assert(
      fc.property(path, (segs) => {
        const text = formatPath(segs)
        expect(formatPath(parsePath(text))).to.equal(text)
      }),
    )
  })

  it('reads own properties only', () => {
    expect(getAtPath({a: {b: [1, 2]}}, ['a', 'b', 1])).to.deep.equal({found: true, value: 2})
    expect(getAtPath({a: {}}, ['a', 'toString']).found).to.equal(false)
    expect(getAtPath({a: [1]}, ['a', '0'])).to.deep.equal({found: true, value: 1})
  })
})
