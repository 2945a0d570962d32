/**
 * A bad configuration. The message is one line, `config: <field>: <problem>`, naming the field
 * (or environment variable, or file) and the problem; it never carries a secret value.
 * See docs/design.md §3.5.
 */
export class ConfigError extends Error {
  constructor(
    /** Field path such as `apps[1].secret`, an environment variable name, or a file path; '' for the whole config. */
    readonly field: string,
    readonly problem: string,
  ) {
    const oneLine = problem.replace(/\s*\n\s*/g, ' ');
    super(field ? `config: ${field}: ${oneLine}` : `config: ${oneLine}`);
    this.name = 'ConfigError';
  }
}
