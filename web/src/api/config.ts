/**
 * Where the REST bridge is. By default the page's own origin under /api,
 * which the static server (server/webapp.py) forwards to the bridge, so
 * the browser needs neither CORS nor trust in the exchange's local CA.
 * VITE_API_BASE_URL at build time points the app elsewhere (a bridge with
 * this page's origin in its cors_origins).
 */
export const API_BASE_URL: string = (import.meta.env.VITE_API_BASE_URL as string | undefined) ?? "/api";

/** The /ws stream's URL beside the bridge's base. */
export function websocketUrl(base: string = API_BASE_URL, origin: string = window.location.origin): string {
  const absolute = new URL(base.replace(/\/$/, "") + "/ws", origin);
  absolute.protocol = absolute.protocol === "https:" ? "wss:" : "ws:";
  return absolute.toString();
}
