/**
 * POSIX single-quoting for one word on a remote command line. sshd joins the command into one
 * string and runs it with the user's login shell (`$SHELL -c`), so every data word must be
 * quoted. Inside '...' nothing is special; a quote itself becomes '\''. Works for sh, bash,
 * zsh and dash (not csh/fish).
 */
export function shQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** Joins argv into a remote command line, every element quoted. */
export function shJoin(argv: string[]): string {
  return argv.map((a) => shQuote(a)).join(' ')
}
