/**
 * Bounded messages about untrusted input. An error names its field first and then says what is wrong; a value taken
 * from the input (a 500 000-character dtype string, a million-element shape) is shown cut to a few dozen characters,
 * and the whole message to MAX_MESSAGE_CHARS, so no input can make an error message large.
 */

/** Longest validation error message (run files, safetensors, model configs). */
export const MAX_MESSAGE_CHARS = 300;

/** `text` cut to at most `maxChars` characters, the last of them '…' when cut (a surrogate pair is never split). */
export function truncate(text: string, maxChars: number = MAX_MESSAGE_CHARS): string {
  if (text.length <= maxChars) return text;
  if (maxChars < 1) return '';
  let end = maxChars - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/**
 * An untrusted value as short JSON-like text for a message, at most `maxChars` characters: strings quoted and cut,
 * arrays by their first items, objects by their first keys. Never serialises a large value whole.
 */
export function quoteValue(value: unknown, maxChars = 40): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return JSON.stringify(truncate(value, maxChars));
  if (value === null || typeof value !== 'object') return truncate(String(value), maxChars);
  const parts: string[] = [];
  let used = 2;
  const items: readonly unknown[] = Array.isArray(value) ? value : Object.keys(value);
  for (const item of items) {
    const part = Array.isArray(value) ? quoteValue(item, 12) : `${JSON.stringify(truncate(String(item), 12))}: …`;
    used += part.length + 2;
    if (used > maxChars) {
      parts.push('…');
      break;
    }
    parts.push(part);
  }
  const [open, close] = Array.isArray(value) ? ['[', ']'] : ['{', '}'];
  return truncate(`${open}${parts.join(', ')}${close}`, maxChars);
}
