const PREFIX = /^(?:[rRuUbBfFtT]|[rR][bBfFtT]|[bBfFtT][rR])$/;
const NAME = /[\p{L}\p{N}_]/u;

/** Where the string literal whose quotes start at `at` ends (just past its closing quotes). */
function stringEnd(source: string, at: number): number {
  const quote = source[at]!;
  const triple = source.startsWith(quote.repeat(3), at);
  const close = triple ? quote.repeat(3) : quote;
  let index = at + close.length;
  while (index < source.length) {
    const char = source[index]!;
    // A backslash keeps the next character from closing the string, raw strings included.
    if (char === "\\") index += 2;
    else if (source.startsWith(close, index)) return index + close.length;
    else if (char === "\n" && !triple) break;
    else index += 1;
  }
  throw new Error(`stripPython: unterminated string at offset ${at}`);
}

/** Whether nothing but spaces and a comment follow `at` on its line. */
function restOfLineIsEmpty(source: string, at: number): boolean {
  const empty = /[ \t]*(?:#[^\n]*)?(?:\r?\n|$)/y;
  empty.lastIndex = at;
  return empty.test(source);
}

/**
 * Python source without what only its readers need: comments, docstrings (and any other
 * statement that is a lone string literal, each kept as `""` so no block is left empty) and
 * blank lines. What runs is unchanged; the browser backend ships its Python as text, so this
 * keeps that text small. Strings are read as the tokenizer reads them; f-strings that reuse
 * their own quotes inside a replacement field (Python 3.12+) are not supported.
 */
export function stripPython(source: string): string {
  const lines: string[] = [];
  let line = "";
  let depth = 0;
  let statementStart = true;
  let index = 0;
  const endLine = () => {
    if (line.trim()) lines.push(line.trimEnd());
    line = "";
  };
  while (index < source.length) {
    const char = source[index]!;
    if (char === "#") {
      while (index < source.length && source[index] !== "\n") index += 1;
    } else if (char === "\n") {
      endLine();
      index += 1;
      if (depth === 0) statementStart = true;
    } else if (char === "\\" && source[index + 1] === "\n") {
      line += "\\";
      lines.push(line);
      line = "";
      index += 2;
    } else if (char === " " || char === "\t" || char === "\r" || char === "\f") {
      line += char;
      index += 1;
    } else if (char === '"' || char === "'" || NAME.test(char)) {
      const start = index;
      while (index < source.length && NAME.test(source[index]!)) index += 1;
      const quote = source[index];
      const word = source.slice(start, index);
      if ((quote === '"' || quote === "'") && (word === "" || PREFIX.test(word))) {
        const end = stringEnd(source, index);
        const lone = statementStart && depth === 0 && restOfLineIsEmpty(source, end);
        // A literal spanning lines goes into the current line whole.
        line += lone ? '""' : source.slice(start, end);
        index = end;
      } else {
        line += word;
      }
      statementStart = false;
    } else {
      if ("([{".includes(char)) depth += 1;
      else if (")]}".includes(char)) depth = Math.max(0, depth - 1);
      line += char;
      index += 1;
      statementStart = false;
    }
  }
  endLine();
  return `${lines.join("\n")}\n`;
}
