/**
 * Strings that come from uploads (blob names, CRS names, GDAL messages about them) are cut to a
 * bound before they enter custom status, outputs, failures or logs. A cut string keeps a short
 * hash of the whole, so two long names that share their first characters stay distinct. Pure
 * and deterministic: orchestrators use it.
 */

/** FNV-1a over UTF-16 code units, 32 bits, as 8 hex digits: not cryptographic, only to tell long strings apart. */
export function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

/** Default bound for one name or value from an upload shown to people. */
export const defaultTextBound = 200;

/**
 * `text` when it has at most `max` characters; otherwise its start, an ellipsis and `#<hash of the
 * whole>`, exactly `max` characters long. Never splits a surrogate pair.
 */
export function boundText(text: string, max = defaultTextBound): string {
  if (text.length <= max) return text;
  const suffix = `…#${shortHash(text)}`;
  let keep = Math.max(0, max - suffix.length);
  // A high surrogate at the cut would leave half a character.
  const last = text.charCodeAt(keep - 1);
  if (keep > 0 && last >= 0xd800 && last <= 0xdbff) keep--;
  return `${text.slice(0, keep)}${suffix}`;
}

/** Upload-derived names in log lines. */
export const logTextBound = 200;
