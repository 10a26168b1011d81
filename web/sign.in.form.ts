/**
 * Sign-in state in the header: who is signed in and with which app role, or, when the API refuses a
 * call, how to sign in. In Azure that is App Service Authentication's own sign-in page (a session
 * cookie the browser keeps; /.auth/me says who). On the local host with sign-in on, a development
 * token is pasted here (kept in this tab's sessionStorage, sent as Authorization: Bearer).
 */
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { highestRole } from '../src/api/access.js';
import { describeToken, onSignInNeeded, readAzureSignIn, storeToken, type SignInState } from './api.client.js';

export function SignInForm({ token }: { token: string | null }) {
  const [refusal, setRefusal] = useState<number | null>(null);
  const [azure, setAzure] = useState<SignInState | null>(null);
  const [value, setValue] = useState('');
  useEffect(() => onSignInNeeded((status) => setRefusal(status)), []);
  useEffect(() => {
    // Easy Auth exists only in Azure; the local host has no /.auth (and a 404 would only add noise).
    if (!['localhost', '127.0.0.1', '[::1]'].includes(window.location.hostname)) void readAzureSignIn().then(setAzure);
  }, []);

  const state = token ? describeToken(token) : azure;
  const role = state ? (highestRole(state.roles) ?? 'no role') : undefined;
  const signedIn = state
    ? html`<span class="sign-in-state" data-testid="sign-in-state">Signed in as <strong>${state.name}</strong> (${role})</span>`
    : null;
  const forget = token
    ? html`<button type="button" class="link-button sign-out" onClick=${() => { storeToken(null); setRefusal(null); }}>Forget token</button>`
    : null;

  if (refusal === 403 && state) {
    return html`<div class="sign-in">${signedIn}<span class="sign-in-note" role="status">Your role does not allow that.</span>${forget}</div>`;
  }
  if (refusal === null) return signedIn || forget ? html`<div class="sign-in">${signedIn}${forget}</div>` : null;

  const save = (event: Event): void => {
    event.preventDefault();
    if (!value.trim()) return;
    setRefusal(null);
    storeToken(value.trim());
    setValue('');
  };
  const login = new URL('/.auth/login/aad', window.location.origin);
  login.searchParams.set('post_login_redirect_uri', window.location.pathname + window.location.hash);
  return html`
    <form class="key-form sign-in-form" onSubmit=${save}>
      <a href=${login.href}>Sign in</a>
      <label for="sign-in-token">or paste a token (kept for this tab only)</label>
      <input id="sign-in-token" type="password" autocomplete="off" value=${value} onInput=${(event: Event) => setValue((event.target as HTMLInputElement).value)} />
      <button type="submit">Use token</button>
    </form>
  `;
}
