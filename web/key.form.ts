/**
 * The function key form: shown in Azure, where the API answers 401 without a key. The key stays
 * in this tab's sessionStorage and is sent as the `x-functions-key` header.
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { onKeyNeeded, storeFunctionKey } from './api.client.js';

export function KeyForm({ hasKey }: { hasKey: boolean }) {
  const [needed, setNeeded] = useState(false);
  const [value, setValue] = useState('');
  // A 401/403 anywhere asks for a key (a stored one was wrong, or there was none).
  useEffect(() => onKeyNeeded(() => setNeeded(true)), []);

  if (hasKey && !needed) {
    return html`<button type="button" class="link-button key-forget" onClick=${() => { storeFunctionKey(null); setNeeded(false); }}>Forget function key</button>`;
  }
  if (!needed) return null;
  const save = (event: Event): void => {
    event.preventDefault();
    if (!value.trim()) return;
    setNeeded(false);
    storeFunctionKey(value.trim());
    setValue('');
  };
  return html`
    <form class="key-form" onSubmit=${save}>
      <label for="function-key">The API needs a function key (kept for this tab only)</label>
      <input id="function-key" type="password" autocomplete="off" value=${value} onInput=${(event: Event) => setValue((event.target as HTMLInputElement).value)} />
      <button type="submit">Use key</button>
    </form>
  `;
}
