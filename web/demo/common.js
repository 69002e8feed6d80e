// Helpers of the demo page (/) and the engine lab (/lab/).

let toastTimer = 0;

/** Shows text in the page's #toast for a few seconds. */
export function toast(text) {
  const el = document.getElementById('toast');
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 4000);
}

/** POSTs body to a dev-mode endpoint; null when the server has none (not in dev mode). */
export async function devPost(path, body, what) {
  const res = await fetch(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
  });
  if (res.status === 404) return null; // not a dev-mode server
  if (!res.ok) throw new Error(`${what}: ${res.status} ${(await res.text()).trim()}`);
  return res.json();
}
