// The header's switches and the board's keys: large text for a projector (+), light/dark theme (t), and / to jump to
// the catalogue filter. Both settings are remembered in localStorage.
const root = document.documentElement;
const largeButton = document.getElementById("large-text") as HTMLButtonElement;
const themeButton = document.getElementById("theme") as HTMLButtonElement;
const THEMES = ["auto", "light", "dark"];

function setLarge(on: boolean): void {
  root.classList.toggle("large", on);
  largeButton.setAttribute("aria-pressed", String(on));
  localStorage.setItem("danelab.large", on ? "1" : "0");
}

function setTheme(theme: string): void {
  root.dataset["theme"] = theme;
  themeButton.textContent = `Theme: ${theme}`;
  localStorage.setItem("danelab.theme", theme);
}

/** Wires the buttons and keys, and applies the remembered settings. */
export function installSwitches(): void {
  largeButton.addEventListener("click", () => setLarge(!root.classList.contains("large")));
  themeButton.addEventListener("click", () =>
    setTheme(THEMES[(THEMES.indexOf(root.dataset["theme"] ?? "auto") + 1) % THEMES.length] ?? "auto"),
  );
  setLarge(localStorage.getItem("danelab.large") === "1");
  setTheme(localStorage.getItem("danelab.theme") ?? "auto");

  document.addEventListener("keydown", (e) => {
    const target = e.target as HTMLElement | null;
    if (e.ctrlKey || e.metaKey || e.altKey || (target && /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (e.key === "/") {
      const filter = document.getElementById("filter");
      if (filter) {
        e.preventDefault();
        filter.focus();
      }
    } else if (e.key === "+") setLarge(!root.classList.contains("large"));
    else if (e.key === "t") themeButton.click();
  });
}
