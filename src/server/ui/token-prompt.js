/**
 * The token form: asks for `server.api_token` once per tab, checks it against the API and keeps
 * it in sessionStorage.
 */
import { ApiError, apiRequest, storeToken } from './api-client.js';
import { h } from './dom.js';

/**
 * Shows the token form in `container`.
 * @param {HTMLElement} container
 * @param {{ reason?: string, onAccepted(): void }} options `reason` explains why the form is shown
 *   again (e.g. the stored token got a 401); `onAccepted` runs once the API took the token
 */
export function showTokenPrompt(container, { reason, onAccepted }) {
  const input = h('input', {
    id: 'api-token',
    name: 'api-token',
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    required: true,
    'aria-describedby': 'api-token-help',
  });
  const message = h('p', { class: 'form-error', role: 'alert', id: 'api-token-error' });
  message.hidden = !reason;
  if (reason) message.textContent = reason;
  const submit = h('button', { type: 'submit', class: 'button primary' }, 'Continue');

  const form = h(
    'form',
    {
      class: 'token-form card',
      on: {
        submit: async (event) => {
          event.preventDefault();
          const token = input.value.trim();
          if (!token) return;
          submit.disabled = true;
          message.hidden = true;
          try {
            await apiRequest('/syncs', { token });
            storeToken(token);
            onAccepted();
          } catch (err) {
            message.hidden = false;
            message.textContent =
              err instanceof ApiError && err.status === 401
                ? 'The server did not accept this token (401 Unauthorized). Enter the value of server.api_token from the project file.'
                : `Could not check the token: ${err instanceof Error ? err.message : String(err)}`;
            input.setAttribute('aria-invalid', 'true');
            input.focus();
          } finally {
            submit.disabled = false;
          }
        },
      },
    },
    h('h1', { tabindex: '-1' }, 'Sign in to panelsync'),
    h('label', { for: 'api-token' }, 'API token'),
    input,
    h(
      'p',
      { id: 'api-token-help', class: 'help' },
      'The value of server.api_token in panelsync.yml (usually the PANELSYNC_API_TOKEN environment variable). ',
      'It is kept in this browser tab only and sent with every request.',
    ),
    message,
    submit,
  );
  container.replaceChildren(form);
  input.focus();
}
