import ts from 'typescript'
import { dirname } from 'node:path'

/**
 * Type-checks the given files with this package's tsconfig (strict, `source` condition, checkJs) and returns
 * the errors found in each of them; errors inside the packages they import are not theirs to report.
 */
export function typeErrors(tsconfig: string, files: readonly string[]): Map<string, string[]> {
  const config = ts.readConfigFile(tsconfig, ts.sys.readFile)
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, dirname(tsconfig))
  const program = ts.createProgram(files, options)
  const errors = new Map<string, string[]>()
  for (const file of files) {
    const source = program.getSourceFile(file)
    if (!source) {
      errors.set(file, ['not part of the program'])
      continue
    }
    const diagnostics = [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
    errors.set(
      file,
      diagnostics.map((diagnostic) => {
        const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
        if (diagnostic.start === undefined) return text
        const { line, character } = source.getLineAndCharacterOfPosition(diagnostic.start)
        return `line ${line + 1}:${character + 1}: ${text}`
      }),
    )
  }
  return errors
}
