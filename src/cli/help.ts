import type {Command, Interfaces} from '@oclif/core'
import {Help} from '@oclif/core/help'

/** One example: what it does, then the command (`<%= config.bin %>` is the bin name). */
export interface HelpExample {
  description: string
  command: string
}

/** The examples in package.json: `oclif.examples` (root) and `oclif.topics.<name>.examples`. */
interface ExamplesConfig {
  examples?: HelpExample[]
  topics?: Record<string, {examples?: HelpExample[]}>
}

/**
 * oclif's help, plus an EXAMPLES section for the root (the quick-start commands) and for each
 * topic (its most common tasks), like gh. oclif renders only a topic's description; the
 * examples live next to it in package.json. Loaded on every --help, so it imports nothing
 * beyond @oclif/core.
 */
export default class RemoteclawHelp extends Help {
  private get examplesConfig(): ExamplesConfig {
    return (this.config.pjson.oclif ?? {}) as ExamplesConfig
  }

  /** A topic's examples (topic name with ":" as oclif stores it). */
  topicExamples(name: string): HelpExample[] {
    return this.examplesConfig.topics?.[name]?.examples ?? []
  }

  rootExamples(): HelpExample[] {
    return this.examplesConfig.examples ?? []
  }

  protected override async showRootHelp(): Promise<void> {
    await super.showRootHelp()
    this.logExamples(this.rootExamples())
  }

  protected override async showTopicHelp(topic: Interfaces.Topic): Promise<void> {
    await super.showTopicHelp(topic)
    this.logExamples(this.topicExamples(topic.name))
  }

  /** A command that is also a topic (`gateway`): one EXAMPLES section, its own first. */
  override async showCommandHelp(command: Command.Loadable): Promise<void> {
    const extra = this.topicExamples(command.id)
    if (extra.length === 0) return super.showCommandHelp(command)
    const own = command.examples ?? []
    const seen = new Set(own.map((e) => (typeof e === 'string' ? e : e.command)))
    return super.showCommandHelp({...command, examples: [...own, ...extra.filter((e) => !seen.has(e.command))]})
  }

  private logExamples(examples: HelpExample[]): void {
    if (examples.length === 0) return
    const body = examples
      // The command is not wrapped: it must paste as one line.
      .map((e) => `${this.wrap(this.render(e.description), this.indentSpacing * 2)}\n\n${this.indent(`$ ${this.render(e.command)}`)}`)
      .join('\n\n')
    this.log(this.section('EXAMPLES', body))
    this.log('')
  }
}
