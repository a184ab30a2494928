/**
 * Terminal output: colour only on a TTY and never with NO_COLOR; plain tables.
 * @module
 */

/** Colour helpers for one stream. */
export interface Paint {
  readonly enabled: boolean;
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
}

/** Colour for `stream` when it is a TTY and NO_COLOR is not set (any value, even empty). */
export function paintFor(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>> = process.env): Paint {
  const enabled = stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (text: string) => (enabled ? `\x1b[${open}m${text}\x1b[${close}m` : text);
  return {
    enabled,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red: wrap(31, 39),
    green: wrap(32, 39),
    yellow: wrap(33, 39),
    cyan: wrap(36, 39),
  };
}

// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
/** Visible width (ANSI colour codes removed). */
export const visibleLength = (text: string): number => text.replace(ANSI, '').length;

/** Left-aligned columns separated by two spaces, with a rule under the header row. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((row) => visibleLength(row[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell))))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Quote for a POSIX shell: 'text', with ' written as '\''. */
export const shellQuote = (text: string): string => (/^[A-Za-z0-9_\-.,:/@%+=]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);

/** A curl command, one option per line. */
export function curlCommand(method: string, url: string, headers: Readonly<Record<string, string>>, data: { readonly text?: string; readonly file?: string }): string {
  const parts = [`curl -i -X ${method} ${shellQuote(url)}`];
  for (const [name, value] of Object.entries(headers)) parts.push(`  -H ${shellQuote(`${name}: ${value}`)}`);
  if (data.file !== undefined) parts.push(`  --data-binary @${shellQuote(data.file)}`);
  else if (data.text !== undefined && data.text !== '') parts.push(`  --data-raw ${shellQuote(data.text)}`);
  return parts.join(' \\\n');
}

/**
 * What is not safe to print or to put in XML: C0 and C1 controls, DEL, Unicode format
 * characters (bidirectional overrides, zero-width), the noncharacters U+FFFE and U+FFFF,
 * and lone surrogates.
 */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const UNSAFE_IN_JSON = /[\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/**
 * JSON for `--json`: `JSON.stringify` with two-space indentation, and every character that
 * {@link escapeControl} escapes written as a `\uXXXX` escape (JSON.stringify leaves C1
 * controls, format characters and lone surrogates raw), so the output is safe on a
 * terminal and still the same JSON.
 */
export function jsonText(value: unknown): string {
  // JSON.stringify escapes C0 controls in strings itself; its own line breaks stay.
  return JSON.stringify(value, null, 2).replace(UNSAFE_IN_JSON, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Text from a server (or a captured request), safe to print on a terminal: C0 and C1
 * control characters, DEL, and the Unicode bidirectional and zero-width format characters
 * are written as visible escapes (`\x1b`, `\u202e`), so no
 * answer can move the cursor, recolour, rewrite or hide what the command prints.
 * Line breaks are escaped too (`\n`) unless `keepNewlines`.
 */
export function escapeControl(text: string, keepNewlines = false): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(UNSAFE, (ch) => {
    if (keepNewlines && ch === '\n') return ch;
    switch (ch) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default: {
        const code = ch.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
      }
    }
  });
}
