// DOM helpers for the training board: `h` builds an element from a tag, attributes and children (no framework), plus
// the small pieces every page uses — badges for expectations and verdicts, a wall-clock time, an error box, a copy
// button, and a re-render that keeps a keyboard user's focus.

/** What `h` accepts as a child: nodes and text; null, undefined and false are left out. */
export type Child = Node | string | number | null | undefined | false;
/** What a page renders into `<main>`. */
export type Content = (Node | string | null)[];
/** Attribute values; a function is an event listener (`onclick` → "click"), true an empty attribute. */
export type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h(tag: string, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "object" ? c : String(c));
  }
  return el;
}

/** Items with " · " between them, for a line of links. */
export const dotted = (items: Child[]): Child[] => items.flatMap((l, i) => (i ? [" · ", l] : [l]));

export const badge = (text: string, tone: string): HTMLElement => h("span", { class: `badge ${tone}` }, text);

export const expectBadge = (expect: string): HTMLElement =>
  badge(
    expect,
    expect.startsWith("deliver") || expect === "tls-required" ? "ok" : expect === "no-delivery" ? "bad" : "info",
  );

export const verdictBadge = (verdict: string): HTMLElement =>
  badge(verdict, verdict === "pass" ? "ok" : verdict === "fail" ? "bad" : verdict === "pending" ? "warn" : "info");

/** An ISO time as the local wall clock with milliseconds ("14:03:07.120"); unparseable input as it is. */
export function clock(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d.toLocaleTimeString([], { hour12: false }) + `.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

export const errorBox = (err: unknown): HTMLElement =>
  h("p", { class: "error", role: "alert" }, err instanceof Error ? err.message : String(err));

export function copyButton(textToCopy: string, label: string): HTMLElement {
  const button = h("button", { type: "button", class: "copy", "aria-label": `Copy: ${label}` }, "Copy");
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(textToCopy);
    } catch {
      // Older browsers or a non-secure origin: select a hidden textarea and copy.
      const area = h("textarea", { class: "offscreen" }, textToCopy) as HTMLTextAreaElement;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    button.textContent = "Copied";
    setTimeout(() => {
      button.textContent = "Copy";
    }, 1500);
  });
  return button;
}

/**
 * Re-renders `container` without losing a keyboard user's place: a focused link inside it is focused again afterwards
 * (found by its href within the same connection).
 */
export function keepFocus(container: HTMLElement, render: () => void): void {
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && container.contains(active) ? active : null;
  const session = inside?.closest("[data-session]")?.getAttribute("data-session");
  const href = inside?.getAttribute("href");
  render();
  if (!inside || !href) return;
  const scope = session ? container.querySelector(`[data-session="${CSS.escape(session)}"]`) : container;
  const again = scope?.querySelector(`a[href="${CSS.escape(href)}"]`);
  if (again instanceof HTMLElement) again.focus({ preventScroll: true });
}
