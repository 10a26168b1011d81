// One line for an Azure REST error answer (ARM's and Microsoft Graph's share the shape
// `{ error: { code, message } }`), shortened so a hook's message stays readable and holds no body dump.

/** `<status> <code>: <message cut at 300>`, or the status line when the body is not such JSON. */
export async function describeErrorResponse(response) {
  const text = await response.text().catch(() => '');
  try {
    const error = JSON.parse(text)?.error;
    if (error?.code) return `${response.status} ${error.code}: ${String(error.message ?? '').slice(0, 300)}`;
  } catch {
    // not JSON: the status alone
  }
  return `${response.status} ${response.statusText}`.trim();
}
