// Glimvid web app: hash routes, one view per page, no framework.
import { api, apiOrigin, ApiError, session, setUnauthorizedHandler, uploadFile } from "./api.js";
import { getLang, localize, onLangChange, setLang, t } from "./i18n.js";
import { busy, button, checkbox, field, h, progressBar, setT, uid } from "./dom.js";
import { jumpTo, renderApiDocs } from "./apidocs.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const flashBox = document.getElementById("flash");
const noticesBox = document.getElementById("notices");
const langSwitch = document.getElementById("lang-switch");

const state = { user: null, view: null, page: null };

// ---------------------------------------------------------------- helpers

function flash(key, vars, kind = "ok") {
  state.flashAt = Date.now();
  flashBox.replaceChildren(
    h(
      "div",
      { class: `flash-msg flash-${kind}` },
      h("span", { t: key, vars }),
      h("button", {
        type: "button",
        class: "flash-close",
        tattr: { "aria-label": "common.dismiss" },
        on: { click: () => flashBox.replaceChildren() },
      }, "×"),
    ),
  );
}

function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

/** The message for an API error, translated by code (and field) where known. */
function errorText(el, err) {
  const raw = err instanceof ApiError ? err.code : "network";
  // The email routes' contract names field problems `invalid_input`.
  const code = raw === "invalid_input" ? "invalid_field" : raw;
  const candidates = [];
  if (err.field) candidates.push(`err.${code}.${err.field}`);
  candidates.push(`err.${code}`);
  const key = candidates.find((k) => t(k, null, null) !== null) || "err.generic";
  // English prefers the server's precise wording for field problems.
  el.dataset.i18nFallback = (err && err.serverMessage) || "";
  el.dataset.preferFallback = code === "invalid_field" || code === "webhook_url_invalid" ? "en" : "";
  setT(el, key);
}

function clearErrors(form) {
  for (const p of form.querySelectorAll(".field-error, .form-error")) {
    p.hidden = true;
    p.textContent = "";
    delete p.dataset.i18n;
  }
  for (const el of form.querySelectorAll("[aria-invalid]")) el.removeAttribute("aria-invalid");
}

/** Shows an API error beside the field it names, or at the top of the form. */
function showError(form, err, fieldAliases = {}) {
  const name = err.field ? fieldAliases[err.field] || err.field : null;
  const wrap = name && form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  const slot = wrap ? wrap.querySelector(".field-error") : form.querySelector(".form-error");
  errorText(slot, err);
  slot.hidden = false;
  if (wrap) {
    const input = wrap.querySelector("input, textarea, select");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  } else {
    slot.focus?.();
  }
}

function formError() {
  return h("p", { class: "form-error", role: "alert", tabindex: "-1", hidden: true });
}

function pageHead(titleKey, subtitleKey, vars) {
  return h(
    "div",
    { class: "page-head" },
    h("h1", { t: titleKey, vars, tabindex: "-1", class: "page-title" }),
    subtitleKey ? h("p", { class: "lead", t: subtitleKey }) : null,
  );
}

function value(form, name) {
  const el = form.elements.namedItem(name);
  if (!el) return undefined;
  if (el.type === "checkbox") return el.checked;
  return el.value;
}

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = h("textarea", { class: "sr-only", value: text, "aria-hidden": "true" });
    document.body.append(ta);
    ta.select();
    const ok = document.execCommand && document.execCommand("copy");
    ta.remove();
    return !!ok;
  }
}

const STAGES = ["script", "enhance", "video", "finalize"];

function statusBadge(status) {
  return h("span", { class: `badge badge-${status}`, "data-status": status, t: `status.${status}` });
}

/**
 * Refreshes the cached user. `quiet`: a dead session is just dropped (on
 * pages that work signed out too) instead of sending the user to log in.
 */
async function loadUser({ quiet = false } = {}) {
  if (!session.token) return null;
  try {
    state.user = await api("GET", "/me", undefined, { quiet });
  } catch (err) {
    if (err.status !== 401) throw err;
    state.user = null;
    if (quiet) session.clear();
  }
  return state.user;
}

/** Failures worth a "try again" button: offline, our side, or too many requests. */
const retryable = (err) => !(err instanceof ApiError) || err.status === 0 || err.status >= 500 || err.status === 429;

/** A status line (a live region) pointed at a message. */
function say(el, key, vars) {
  delete el.dataset.i18nFallback;
  delete el.dataset.preferFallback;
  setT(el, key, vars);
  el.hidden = false;
}

/**
 * Asks for a new verification link, reporting in `status` (a live region).
 * When the address turns out to be confirmed already, the button goes and
 * `onVerified` runs.
 */
function resendVerification(btn, status, onVerified) {
  const mark = (ok) => {
    status.classList.toggle("saved", ok);
    status.classList.toggle("inline-error", !ok);
  };
  return busy(btn, async () => {
    status.textContent = "";
    try {
      await api("POST", "/auth/verify-email/resend");
      mark(true);
      say(status, "verify.sent", { email: (state.user && state.user.email) || "" });
    } catch (err) {
      errorText(status, err);
      status.hidden = false;
      const verified = err.code === "already_verified";
      mark(verified);
      if (verified) {
        btn.hidden = true;
        if (state.user) state.user.email_verified = true;
        if (onVerified) onVerified();
        loadUser().catch(() => {});
      }
    }
  });
}

// ---------------------------------------------------------------- chrome

function renderNav(current) {
  const link = (hash, key, name) =>
    h("a", {
      href: hash,
      class: "nav-link",
      t: key,
      "aria-current": current === name ? "page" : null,
    });
  if (session.token) {
    nav.replaceChildren(
      link("#/new", "nav.new", "new"),
      link("#/videos", "nav.videos", "videos"),
      link("#/credits", "nav.credits", "credits"),
      link("#/account", "nav.account", "account"),
      link("#/api", "nav.api", "api"),
      h("button", { type: "button", class: "nav-link nav-button", t: "nav.logout", id: "logout", on: { click: logout } }),
    );
  } else {
    nav.replaceChildren(link("#/api", "nav.api", "api"), link("#/login", "nav.login", "login"), link("#/signup", "nav.signup", "signup"));
  }
}

function renderLangSwitch() {
  const other = getLang() === "zh" ? "en" : "zh";
  langSwitch.textContent = other === "zh" ? "中文" : "English";
  langSwitch.setAttribute("lang", other === "zh" ? "zh-CN" : "en");
  langSwitch.setAttribute("aria-label", t("lang.switch"));
  langSwitch.dataset.target = other;
}

langSwitch.addEventListener("click", () => {
  const next = langSwitch.dataset.target;
  setLang(next);
  if (session.token) api("PATCH", "/me", { language: next }).catch(() => {});
});

onLangChange((next) => {
  renderLangSwitch();
  if (state.user) state.user.language = next;
  const select = document.getElementById("f-account-language");
  if (select) select.value = next;
  document.title = state.titleKey ? `${t(state.titleKey)} · Glimvid` : "Glimvid";
});

async function logout() {
  try {
    await api("POST", "/auth/logout");
  } catch {
    // The token is dropped either way.
  }
  session.clear();
  state.user = null;
  flash("flash.loggedOut");
  go("#/login");
}

setUnauthorizedHandler(() => {
  session.clear();
  state.user = null;
  flash("flash.sessionEnded", null, "warn");
  go("#/login");
});

document.querySelector(".skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  (main.querySelector(".page-title") || main).focus();
});

// ---------------------------------------------------------------- notices

// Above every page for a signed-in user: "confirm your email" and the
// privacy policy banner. They live outside <main> (no page title there).
const verifySlot = h("div", { class: "notice-slot" });
const policySlot = h("div", { class: "notice-slot" });
noticesBox.replaceChildren(verifySlot, policySlot);

function verifyNotice(user, onNewPage) {
  const status = h("p", { class: "notice-status", role: "status", "aria-live": "polite" });
  const btn = button("verify.resend", {
    class: "btn btn-small",
    id: "resend-verification",
    on: { click: () => resendVerification(btn, status) },
  });
  return h(
    "div",
    { class: "notice notice-warn", id: "verify-notice", role: "region", tattr: { "aria-label": "verify.noticeLabel" } },
    h(
      "div",
      { class: "notice-body" },
      h("p", { class: "notice-title", t: "verify.notice" }),
      onNewPage ? h("p", { t: "verify.noticeNew", vars: { email: user.email } }) : null,
      status,
    ),
    h("div", { class: "notice-actions" }, btn),
  );
}

// GET /policy is public and changes rarely: one fetch per five minutes.
const POLICY_TTL_MS = 5 * 60 * 1000;
let policyCache = null;

async function fetchPolicy() {
  if (policyCache && Date.now() - policyCache.at < POLICY_TTL_MS) return policyCache.data;
  const data = await api("GET", "/policy", undefined, { auth: false });
  policyCache = { at: Date.now(), data };
  return data;
}

/**
 * The version to tell the user about, if any: the upcoming one unless it is
 * acknowledged (acknowledging it covers the current one too), else the
 * current one unless acknowledged.
 */
function policyToShow(policy, ack) {
  if (!policy) return null;
  if (policy.upcoming) return policy.upcoming.version === ack ? null : { ...policy.upcoming, upcoming: true };
  if (policy.current && policy.current.version !== ack) return { ...policy.current, upcoming: false };
  return null;
}

function policySummary(el, version) {
  const summary = version.summary || {};
  const lang = summary[getLang()] ? getLang() : "en";
  el.textContent = summary[lang] || "";
  el.setAttribute("lang", lang === "zh" ? "zh-CN" : "en");
}

function policyBanner(version) {
  const summary = h("p", { class: "policy-summary" });
  policySummary(summary, version);
  const error = h("p", { class: "inline-error", role: "alert", hidden: true });
  const ack = button("policy.ack", {
    class: "btn btn-primary btn-small",
    id: "policy-ack",
    on: {
      click: () =>
        busy(ack, async () => {
          error.hidden = true;
          try {
            state.user = await api("POST", "/me/policy-ack", { version: version.version });
            policySlot.replaceChildren();
            (main.querySelector(".page-title") || main).focus({ preventScroll: true });
          } catch (err) {
            errorText(error, err);
            error.hidden = false;
            if (err.code === "unknown_version") {
              policyCache = null;
              updatePolicyBanner();
            }
          }
        }),
    },
  });
  return h(
    "section",
    { class: "notice notice-info", id: "policy-banner", role: "region", tattr: { "aria-label": "policy.label" }, "data-version": version.version },
    h(
      "div",
      { class: "notice-body" },
      h("p", {
        class: "notice-title",
        t: version.upcoming ? "policy.upcoming" : "policy.current",
        vars: { date: { kind: "day", value: version.effective_at } },
      }),
      summary,
      error,
    ),
    h("div", { class: "notice-actions" }, ack),
  );
}

async function updatePolicyBanner() {
  let policy = null;
  try {
    policy = session.token && state.user ? await fetchPolicy() : null;
  } catch {
    // No banner when the policy can't be fetched; the next page tries again.
  }
  const user = session.token ? state.user : null;
  const version = user ? policyToShow(policy, user.policy_ack || null) : null;
  const shown = policySlot.querySelector("#policy-banner");
  if (!version) policySlot.replaceChildren();
  else if (!shown || shown.dataset.version !== version.version) policySlot.replaceChildren(policyBanner(version));
}

/** Redraws the notices for the current page and user. */
function renderNotices() {
  const user = session.token ? state.user : null;
  const page = state.page || {};
  // The account and verify pages show the address's state themselves.
  const wantsVerify = user && user.email_verified === false && page.needsAuth === true && page.name !== "account";
  if (wantsVerify) verifySlot.replaceChildren(verifyNotice(user, page.name === "new"));
  else verifySlot.replaceChildren();
  updatePolicyBanner();
}

onLangChange(() => {
  const summary = policySlot.querySelector(".policy-summary");
  if (summary && policyCache && state.user) {
    const version = policyToShow(policyCache.data, state.user.policy_ack || null);
    if (version) policySummary(summary, version);
  }
});

// Back from the mail app: the address may have been confirmed meanwhile.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState !== "visible" || !session.token || !state.user || state.user.email_verified !== false) return;
  loadUser({ quiet: !(state.page && state.page.needsAuth === true) })
    .then(() => {
      if (state.user && state.user.email_verified) renderNotices();
    })
    .catch(() => {});
});

// ---------------------------------------------------------------- auth pages

function authHero() {
  return h(
    "div",
    { class: "hero" },
    h("h2", { class: "hero-title", t: "hero.title" }),
    h("p", { class: "hero-text", t: "hero.text" }),
    h(
      "ol",
      { class: "hero-steps" },
      h("li", {}, h("span", { class: "step-dot" }, "1"), h("span", { t: "hero.step1" })),
      h("li", {}, h("span", { class: "step-dot" }, "2"), h("span", { t: "hero.step2" })),
      h("li", {}, h("span", { class: "step-dot" }, "3"), h("span", { t: "hero.step3" })),
    ),
    h("p", { class: "hero-note", t: "hero.trial" }),
  );
}

function signedIn(reply) {
  session.set(reply.token);
  state.user = reply.user;
  if (reply.user && reply.user.language && reply.user.language !== getLang()) setLang(reply.user.language);
}

function viewSignup() {
  const form = h(
    "form",
    { class: "card form", id: "signup-form", novalidate: true },
    h("h1", { class: "page-title", t: "signup.title", tabindex: "-1" }),
    formError(),
    field({ name: "name", label: "field.name", autocomplete: "name", maxlength: "80" }),
    field({ name: "email", label: "field.email", type: "email", autocomplete: "email", required: true }),
    field({
      name: "password",
      label: "field.password",
      type: "password",
      autocomplete: "new-password",
      hint: "hint.password",
      required: true,
    }),
    checkbox({ name: "confirm_age_16", label: "signup.age" }),
    h("p", { class: "fine", t: "signup.privacy" }),
    h("button", { type: "submit", class: "btn btn-primary btn-block", t: "signup.submit", id: "signup-submit" }),
    h("p", { class: "switch-auth" }, h("span", { t: "signup.haveAccount" }), " ", h("a", { href: "#/login", t: "nav.login" })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const btn = form.querySelector("button[type=submit]");
    await busy(btn, async () => {
      try {
        const body = {
          email: value(form, "email").trim(),
          password: value(form, "password"),
          confirm_age_16: value(form, "confirm_age_16"),
          language: getLang(),
        };
        const name = value(form, "name").trim();
        if (name) body.name = name;
        signedIn(await api("POST", "/auth/register", body));
        flash("flash.welcome");
        go("#/new");
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return { title: "signup.title", node: h("div", { class: "auth-layout" }, authHero(), form) };
}

function viewLogin() {
  const form = h(
    "form",
    { class: "card form", id: "login-form", novalidate: true },
    h("h1", { class: "page-title", t: "login.title", tabindex: "-1" }),
    formError(),
    field({ name: "email", label: "field.email", type: "email", autocomplete: "email", required: true }),
    field({ name: "password", label: "field.password", type: "password", autocomplete: "current-password", required: true }),
    h(
      "p",
      { class: "forgot-row" },
      h("a", {
        href: "#/forgot",
        id: "forgot-link",
        t: "login.forgot",
        // Carry the address over to the reset form (in memory, not the URL).
        on: { click: () => (state.prefillEmail = value(form, "email").trim()) },
      }),
    ),
    h("button", { type: "submit", class: "btn btn-primary btn-block", t: "login.submit" }),
    h("p", { class: "switch-auth" }, h("span", { t: "login.noAccount" }), " ", h("a", { href: "#/signup", t: "nav.signup" })),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        signedIn(
          await api("POST", "/auth/login", { email: value(form, "email").trim(), password: value(form, "password") }),
        );
        go("#/videos");
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return { title: "login.title", node: h("div", { class: "auth-layout" }, authHero(), form) };
}

function viewForgot() {
  const result = h("p", { class: "notice notice-ok", id: "forgot-result", role: "status", "aria-live": "polite", hidden: true });
  const form = h(
    "form",
    { class: "card form narrow", id: "forgot-form", novalidate: true },
    h("h1", { class: "page-title", t: "forgot.title", tabindex: "-1" }),
    h("p", { class: "muted", t: "forgot.lead" }),
    formError(),
    field({ name: "email", label: "field.email", type: "email", autocomplete: "email", required: true, value: state.prefillEmail || "" }),
    result,
    h("button", { type: "submit", class: "btn btn-primary btn-block", t: "forgot.submit" }),
    h("p", { class: "switch-auth" }, h("a", { href: "#/login", t: "forgot.back" })),
  );
  state.prefillEmail = "";
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    result.hidden = true;
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        // The same answer whether or not the address has an account.
        await api("POST", "/auth/password-reset", { email: value(form, "email").trim() }, { auth: false });
        say(result, "forgot.sent");
      } catch (err) {
        showError(form, err);
      }
    });
  });
  return { title: "forgot.title", node: form };
}

function viewReset(params) {
  const token = params.get("token") || "";
  const heading = h("h1", { class: "page-title", t: "reset.title", tabindex: "-1" });
  const newLink = () => h("a", { href: "#/forgot", t: "reset.newLink" });
  if (!token) {
    return {
      title: "reset.title",
      node: h(
        "section",
        { class: "card narrow", id: "reset" },
        heading,
        h("p", { class: "form-error", role: "alert", t: "reset.noToken" }),
        h("p", {}, newLink()),
      ),
    };
  }
  const form = h(
    "form",
    { class: "card form narrow", id: "reset-form", novalidate: true },
    heading,
    h("p", { class: "muted", t: "reset.lead" }),
    formError(),
    field({ name: "password", label: "field.newPassword", type: "password", autocomplete: "new-password", hint: "hint.password", required: true }),
    field({ name: "confirm", label: "field.confirmPassword", type: "password", autocomplete: "new-password", required: true }),
    h("button", { type: "submit", class: "btn btn-primary btn-block", t: "reset.submit" }),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    if (value(form, "password") !== value(form, "confirm")) {
      const slot = form.querySelector('[data-field="confirm"] .field-error');
      say(slot, "reset.mismatch");
      const input = form.elements.namedItem("confirm");
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    await busy(form.querySelector("button[type=submit]"), async () => {
      try {
        await api("POST", "/auth/password-reset/confirm", { token, password: value(form, "password") }, { auth: false });
      } catch (err) {
        showError(form, err, { new: "password" });
        if (err.code === "token_invalid" || err.code === "token_expired") {
          form.querySelector(".form-error").append(" ", newLink());
        }
        return;
      }
      // Every session of the account has ended, this browser's too.
      session.clear();
      state.user = null;
      history.replaceState(null, "", "#/reset");
      flash("flash.passwordReset");
      go("#/login");
    });
  });
  return { title: "reset.title", node: form };
}

/**
 * A page that posts an emailed link's token once on load and shows the
 * outcome in a live region, with a retry button when the request failed
 * for a passing reason (offline, our side, too many requests).
 */
function tokenPage({ id, title, pendingKey, noTokenKey, token, send, done, failed }) {
  const result = h("div", { class: "token-result", id: `${id}-result`, role: "status", "aria-live": "polite", "data-state": "pending" });
  const show = (phase, ...children) => {
    result.dataset.state = phase;
    result.replaceChildren(...children);
  };
  async function run() {
    show("pending", h("p", { class: "muted", t: pendingKey }));
    let reply;
    try {
      reply = await send();
    } catch (err) {
      const msg = h("p", { class: "inline-error" });
      errorText(msg, err);
      if (retryable(err)) {
        const retry = button("common.retry", { class: "btn", id: `${id}-retry` });
        retry.addEventListener("click", () => busy(retry, run));
        show("retry", msg, h("div", { class: "result-actions" }, retry));
      } else {
        show("error", msg, ...(await failed(err)));
      }
      return;
    }
    show("ok", ...(await done(reply)));
  }
  const node = h(
    "section",
    { class: "card narrow center", id },
    h("h1", { class: "page-title", t: title, tabindex: "-1" }),
    result,
  );
  if (token) run();
  else show("error", h("p", { class: "inline-error", t: noTokenKey }), ...failed(null));
  return { title, node };
}

function viewVerify(params) {
  const token = params.get("token") || "";
  const actions = (...children) => h("div", { class: "result-actions" }, children);
  return tokenPage({
    id: "verify",
    title: "verify.title",
    pendingKey: "verify.pending",
    noTokenKey: "verify.noToken",
    token,
    // No token sent: the link may be for another account than this browser's.
    send: () => api("POST", "/auth/verify-email", { token }, { auth: false }),
    async done(reply) {
      if (session.token) {
        try {
          await loadUser({ quiet: true });
        } catch {
          // The cached user stays as it was.
        }
        renderNav(null);
        renderNotices();
      }
      const email = reply && reply.user && reply.user.email;
      return [
        h("p", { class: "result-title result-ok", t: "verify.ok" }),
        email ? h("p", { t: "verify.address", vars: { email } }) : null,
        reply && reply.trial_granted ? h("p", { class: "refunded", id: "trial-granted", t: "verify.trial" }) : null,
        actions(
          session.token
            ? h("a", { class: "btn btn-primary", href: "#/new", t: "nav.new" })
            : h("a", { class: "btn btn-primary", href: "#/login", t: "nav.login" }),
        ),
      ];
    },
    failed(err) {
      if (!session.token) return [actions(h("a", { class: "btn btn-primary", href: "#/login", t: "verify.loginForLink" }))];
      const user = state.user || {};
      if (user.email_verified === false) {
        const status = h("p", { class: "notice-status", role: "status", "aria-live": "polite" });
        const resend = button("verify.sendNew", { class: "btn btn-primary", id: "resend-verification" });
        resend.addEventListener("click", () => resendVerification(resend, status));
        return [actions(resend), status];
      }
      if (user.pending_email) return [actions(h("a", { class: "btn btn-primary", href: "#/account", t: "verify.changeAgain" }))];
      return [
        err && err.code === "token_invalid" ? h("p", { t: "err.already_verified" }) : null,
        actions(h("a", { class: "btn btn-primary", href: "#/new", t: "nav.new" })),
      ];
    },
  });
}

function viewUnsubscribe(params) {
  const token = params.get("token") || "";
  const accountLink = () => h("div", { class: "result-actions" }, h("a", { class: "btn btn-primary", href: "#/account", t: "unsub.account" }));
  return tokenPage({
    id: "unsubscribe",
    title: "unsub.title",
    pendingKey: "unsub.pending",
    noTokenKey: "unsub.noToken",
    token,
    send: () => api("POST", "/email/unsubscribe", { token }, { auth: false }),
    done(reply) {
      if (state.user && reply && reply.kind === "job_notices") state.user.notify_jobs = false;
      return [h("p", { class: "result-title result-ok", t: "unsub.done" }), h("p", { t: "unsub.turnBack" }), accountLink()];
    },
    failed: () => [h("p", { t: "unsub.manage" }), accountLink()],
  });
}

function viewBye() {
  return {
    title: "bye.title",
    node: h(
      "section",
      { class: "card narrow center", id: "bye" },
      h("h1", { class: "page-title", t: "bye.title", tabindex: "-1" }),
      h("p", { t: "bye.text" }),
      h("a", { class: "btn btn-primary", href: "#/signup", t: "nav.signup" }),
    ),
  };
}

// ---------------------------------------------------------------- new video

const ASPECTS = [
  ["9:16", "aspect.vertical", "aspect-916"],
  ["1:1", "aspect.square", "aspect-11"],
  ["16:9", "aspect.landscape", "aspect-169"],
];
const DURATIONS = [
  [5, "duration.5"],
  [10, "duration.10"],
  [15, "duration.15"],
  [30, "duration.30"],
];
// The server's limits (jobs::MAX_PHOTOS, jobs::MAX_VARIANTS).
const MAX_PHOTOS = 5;
const MAX_VARIANTS = 4;
const STYLES = ["", "clean", "bold", "warm", "playful", "luxury"];
// The server's choices (jobs::options::MUSIC); `auto` follows the style.
const MUSIC = ["auto", "none", "upbeat", "calm", "elegant", "energetic"];

function choiceGroup(name, legendKey, options, checkedValue) {
  return h(
    "fieldset",
    { class: "field choices", "data-field": name },
    h("legend", { t: legendKey }),
    h(
      "div",
      { class: "choice-row" },
      options.map(([val, key, icon]) => {
        const id = `f-${name}-${String(val).replace(/\W/g, "")}`;
        return h(
          "div",
          { class: "choice" },
          h("input", { type: "radio", name, id, value: String(val), checked: String(val) === String(checkedValue) }),
          h(
            "label",
            { for: id },
            icon ? h("span", { class: `aspect-icon ${icon}`, "aria-hidden": "true" }) : null,
            h("span", { t: key }),
          ),
        );
      }),
    ),
    h("p", { class: "field-error", hidden: true }),
  );
}

function viewNew() {
  // The photos in the order the video shows them, each with its preview.
  let photos = [];
  const fileInput = h("input", {
    type: "file",
    id: "f-photo",
    name: "photo",
    multiple: true,
    accept: "image/jpeg,image/png,image/webp",
    class: "file-input",
    "aria-describedby": "f-photo-hint f-photo-error",
  });
  const dropText = h(
    "div",
    { class: "drop-text" },
    h("span", { class: "drop-icon", "aria-hidden": "true" }, "⬆"),
    h("strong", { t: "new.drop" }),
    h("span", { class: "hint", t: "new.dropHint", vars: { n: MAX_PHOTOS }, id: "f-photo-hint" }),
  );
  const drop = h("label", { class: "drop", for: "f-photo", id: "drop" }, dropText);
  const photoList = h("ol", { class: "photo-list", id: "photo-list", hidden: true, "aria-labelledby": "photo-label" });
  const photoNote = h("p", { class: "hint", id: "photo-note", role: "status", "aria-live": "polite" });
  let dragged = null;

  function move(from, to) {
    if (to < 0 || to >= photos.length || from === to) return;
    const [p] = photos.splice(from, 1);
    photos.splice(to, 0, p);
    renderPhotos();
  }

  function renderPhotos(focusIndex) {
    drop.classList.toggle("has-file", photos.length > 0);
    photoList.hidden = photos.length === 0;
    photoList.replaceChildren(
      ...photos.map((p, i) => {
        const item = h(
          "li",
          { class: "photo-item", draggable: "true", "data-index": String(i) },
          h("img", { src: p.url, alt: "", class: "photo-thumb" }),
          h("span", { class: "photo-order", "aria-hidden": "true" }, String(i + 1)),
          h("span", { class: "photo-name" }, `${p.file.name} · ${(p.file.size / 1024 / 1024).toFixed(2)} MB`),
          h(
            "div",
            { class: "photo-buttons" },
            button("new.earlier", { class: "btn btn-ghost btn-small", disabled: i === 0, "data-action": "earlier", tattr: { "aria-label": "new.earlierLabel" }, vars: { n: i + 1 }, on: { click: () => move(i, i - 1) } }),
            button("new.later", { class: "btn btn-ghost btn-small", disabled: i === photos.length - 1, "data-action": "later", tattr: { "aria-label": "new.laterLabel" }, vars: { n: i + 1 }, on: { click: () => move(i, i + 1) } }),
            button("new.removePhoto", { class: "btn btn-ghost btn-small", "data-action": "remove", on: { click: () => removePhoto(i) } }),
          ),
        );
        item.addEventListener("dragstart", (e) => {
          dragged = i;
          item.classList.add("moving");
          if (e.dataTransfer) e.dataTransfer.effectAllowed = "move";
        });
        item.addEventListener("dragend", () => item.classList.remove("moving"));
        item.addEventListener("dragover", (e) => {
          if (dragged !== null) e.preventDefault();
        });
        item.addEventListener("drop", (e) => {
          e.preventDefault();
          e.stopPropagation();
          if (dragged !== null) move(dragged, i);
          dragged = null;
        });
        return item;
      }),
    );
    setT(photoNote, photos.length ? "new.photoCount" : "new.textOnly", { n: photos.length, max: MAX_PHOTOS });
    if (focusIndex !== undefined) photoList.querySelectorAll("li")[focusIndex]?.querySelector("button:not([disabled])")?.focus();
  }

  function addFiles(list) {
    const room = MAX_PHOTOS - photos.length;
    const files = Array.from(list || []);
    for (const file of files.slice(0, Math.max(room, 0))) photos.push({ file, url: URL.createObjectURL(file) });
    renderPhotos();
    if (files.length > room) setT(photoNote, "new.tooManyPhotos", { max: MAX_PHOTOS });
    fileInput.value = "";
  }

  function removePhoto(i) {
    const [p] = photos.splice(i, 1);
    if (p) URL.revokeObjectURL(p.url);
    renderPhotos(Math.min(i, photos.length - 1));
  }

  fileInput.addEventListener("change", () => addFiles(fileInput.files));
  for (const ev of ["dragenter", "dragover"]) {
    drop.addEventListener(ev, (e) => {
      e.preventDefault();
      drop.classList.add("dragging");
    });
  }
  for (const ev of ["dragleave", "drop"]) drop.addEventListener(ev, () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer) addFiles(e.dataTransfer.files);
  });

  const variantsSelect = h(
    "select",
    { id: "f-variants", name: "variants", "aria-describedby": "f-variants-hint f-variants-error" },
    Array.from({ length: MAX_VARIANTS }, (_, i) => h("option", { value: String(i + 1), t: i ? "variants.n" : "variants.1", vars: { n: i + 1 } })),
  );

  const upload = progressBar("new.uploading", "upload-progress");
  const uploadBox = h("div", { class: "upload-box", hidden: true }, h("p", { class: "hint", t: "new.uploading", id: "upload-label" }), upload);

  const styleSelect = h(
    "select",
    { id: "f-style", name: "style", "aria-describedby": "f-style-error" },
    STYLES.map((s) => h("option", { value: s, t: s ? `style.${s}` : "style.none" })),
  );
  const musicSelect = h(
    "select",
    { id: "f-music", name: "music", "aria-describedby": "f-music-error" },
    MUSIC.map((m) => h("option", { value: m, t: `music.${m}` })),
  );
  const langSelect = h(
    "select",
    { id: "f-language", name: "language", "aria-describedby": "f-language-error" },
    h("option", { value: "en", selected: getLang() === "en" }, "English"),
    h("option", { value: "zh", selected: getLang() === "zh" }, "中文"),
  );

  const balance = h("p", { class: "balance-hint", hidden: true });
  api("GET", "/credits")
    .then((c) => {
      setT(balance, "new.balance", { n: c.balance });
      balance.hidden = false;
    })
    .catch(() => {});

  const form = h(
    "form",
    { class: "card form new-form", id: "new-form", novalidate: true },
    formError(),
    h(
      "div",
      { class: "field", "data-field": "photo" },
      h("span", { class: "label", t: "new.photo", id: "photo-label" }),
      fileInput,
      drop,
      photoList,
      photoNote,
      h("p", { class: "field-error", id: "f-photo-error", hidden: true }),
    ),
    field({ name: "title", label: "field.title", maxlength: "120", required: true, tattr: { placeholder: "ph.title" } }),
    field({ name: "description", label: "field.description", type: "textarea", rows: "4", maxlength: "2000", required: true, tattr: { placeholder: "ph.description" } }),
    choiceGroup("aspect_ratio", "field.aspect", ASPECTS, "9:16"),
    choiceGroup("duration_s", "field.duration", DURATIONS, 5),
    h(
      "div",
      { class: "two-col" },
      field({ name: "style", label: "field.style", control: styleSelect }),
      field({ name: "language", label: "field.videoLanguage", control: langSelect }),
    ),
    h(
      "div",
      { class: "two-col" },
      field({ name: "music", label: "field.music", control: musicSelect }),
      field({ name: "variants", label: "field.variants", control: variantsSelect, hint: "hint.variants" }),
    ),
    h(
      "div",
      { class: "two-col" },
      field({ name: "display_price", label: "field.displayPrice", maxlength: "24", hint: "hint.endCard", tattr: { placeholder: "ph.displayPrice" } }),
      field({ name: "url", label: "field.url", maxlength: "100", inputmode: "url", autocomplete: "url", spellcheck: "false", tattr: { placeholder: "ph.url" } }),
    ),
    uploadBox,
    h("div", { class: "form-actions" }, balance, h("button", { type: "submit", class: "btn btn-primary", id: "create-video", t: "new.submit" })),
  );
  fileInput.setAttribute("aria-labelledby", "photo-label");

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(form);
    const btn = form.querySelector("button[type=submit]");
    await busy(btn, async () => {
      try {
        const uploadIds = [];
        for (const [i, { file }] of photos.entries()) {
          const ticket = await api("POST", "/uploads", { content_type: file.type, size_bytes: file.size });
          uploadBox.hidden = false;
          const share = (p) => upload.set(Math.round((i * 100 + p) / photos.length));
          share(0);
          await uploadFile(ticket, file, share);
          await api("POST", `/uploads/${encodeURIComponent(ticket.upload_id)}/complete`);
          uploadIds.push(ticket.upload_id);
        }
        const style = value(form, "style");
        const job = await api("POST", "/videos", {
          upload_ids: uploadIds.length ? uploadIds : null,
          variants: Number(value(form, "variants")) || 1,
          title: value(form, "title"),
          description: value(form, "description"),
          language: value(form, "language"),
          aspect_ratio: value(form, "aspect_ratio"),
          duration_s: Number(value(form, "duration_s")),
          style: style || null,
          music: value(form, "music"),
          display_price: value(form, "display_price").trim() || null,
          url: value(form, "url").trim() || null,
        });
        go(`#/videos/${encodeURIComponent(job.id)}`);
      } catch (err) {
        uploadBox.hidden = true;
        showError(form, err, { content_type: "photo", size_bytes: "photo", upload_id: "photo", upload_ids: "photo" });
        if (err.code === "insufficient_credits") {
          const slot = form.querySelector(".form-error");
          // The free credit comes with a confirmed address.
          if (state.user && state.user.email_verified === false) slot.append(" ", h("span", { t: "verify.notice" }));
          slot.append(" ", h("a", { href: "#/credits", t: "new.buyCredits" }));
        }
      }
    });
  });

  return {
    title: "new.title",
    node: h("section", { class: "page" }, pageHead("new.title", "new.lead"), form),
    leave: () => photos.forEach((p) => URL.revokeObjectURL(p.url)),
  };
}

// ---------------------------------------------------------------- job page

const STEP_NAMES = new Set(["script", "enhance", "video", "finalize"]);

/**
 * A failed job's reason, written from its code (`jobError.<code>`); a
 * code this page has no text for shows the server's message instead.
 * `retries_exhausted` with a cause reads the cause first.
 */
function failureReason(error) {
  const stage = error.stage;
  const vars = {
    step: `jobStep.${STEP_NAMES.has(stage) ? stage : "other"}`,
    advice: `jobAdvice.${stage === "script" ? "script" : "other"}`,
  };
  const known = (code) => !!code && t(`jobError.${code}`, null, null) !== null;
  const text = (code) => h("span", { t: `jobError.${code}`, vars });
  if (!known(error.code)) return error.message || "";
  if (error.code === "retries_exhausted" && error.cause && error.cause !== error.code && known(error.cause)) {
    return [text(error.cause), h("span", { t: "job.reasonJoin" }), text(error.code)];
  }
  return text(error.code);
}

function viewJob(id) {
  let timer = null;
  let alive = true;
  const title = h("h1", { class: "page-title", tabindex: "-1" }, "…");
  const badge = h("span");
  const bar = progressBar("job.progress", "job-progress");
  const stageText = h("p", { class: "stage-text", id: "stage-text", "aria-live": "polite" });
  const steps = h(
    "ol",
    { class: "steps" },
    STAGES.map((s) => h("li", { class: "step", "data-stage": s }, h("span", { class: "step-dot", "aria-hidden": "true" }), h("span", { t: `step.${s}` }))),
  );
  const failure = h("div", { class: "alert alert-error", role: "alert", id: "job-error", hidden: true });
  const scriptBox = h("section", { class: "card script", id: "script", hidden: true }, h("h2", { t: "job.script" }));
  const imageBox = h("section", { class: "card", id: "enhanced", hidden: true }, h("h2", { t: "job.image" }));
  const videoBox = h("section", { class: "card video-card", id: "result", hidden: true }, h("h2", { t: "job.video" }));
  const variantsBox = h("section", { class: "card variants", id: "variants", hidden: true }, h("h2", { t: "job.variants" }), h("p", { class: "hint", t: "job.variantsLead" }));
  const variantGrid = h("ul", { class: "variant-grid" });
  variantsBox.append(variantGrid);
  let variantTimer = null;
  const actions = h("div", { class: "job-actions" });
  const loadError = formError();

  const node = h(
    "section",
    { class: "page job", "data-job": id },
    h("p", {}, h("a", { href: "#/videos", class: "back", t: "job.back" })),
    h("div", { class: "page-head job-head" }, title, badge),
    loadError,
    h("div", { class: "card progress-card" }, stageText, bar, steps),
    failure,
    h("div", { class: "job-grid" }, videoBox, imageBox, scriptBox),
    variantsBox,
    actions,
  );

  /** The product's other variants beside this one, to compare hooks and videos. */
  async function showVariants(ids) {
    if (!alive) return;
    // This page's own job is the one its poll last fetched.
    const jobs = await Promise.all(
      ids.map((vid) => (vid === id ? Promise.resolve(latest) : api("GET", `/videos/${encodeURIComponent(vid)}`).catch(() => null))),
    );
    if (!alive) return;
    variantGrid.replaceChildren(
      ...ids.map((vid, i) => {
        const self = vid === id;
        const v = jobs[i];
        const href = `#/videos/${encodeURIComponent(vid)}`;
        return h(
          "li",
          { class: `variant-item${self ? " variant-self" : ""}`, "data-id": vid, "aria-current": self ? "page" : null },
          h("p", { class: "variant-name" }, self ? h("strong", { t: "job.variantThis", vars: { n: i + 1 } }) : h("a", { href, t: "job.variantN", vars: { n: i + 1 } })),
          v ? statusBadge(v.status) : null,
          v && v.script ? h("p", { class: "variant-hook" }, v.script.hook || "") : null,
          v && v.video_url
            ? h("video", { class: `player small ratio-${v.aspect_ratio.replace(":", "x")}`, src: v.video_url, poster: v.poster_url, controls: true, playsinline: true, preload: "metadata", tattr: { "aria-label": "job.player" } })
            : null,
        );
      }),
    );
    variantsBox.hidden = false;
    const pending = jobs.some((v) => v && (v.status === "queued" || v.status === "running"));
    if (pending) variantTimer = setTimeout(() => showVariants(ids), 3000);
  }

  let shown = { script: false, image: false, video: false, variants: false };
  let latest = null;

  function render(job) {
    latest = job;
    title.textContent = job.title;
    badge.replaceChildren(statusBadge(job.status));
    node.dataset.status = job.status;
    bar.set(job.percent);
    const live = job.status === "queued" || job.status === "running";
    setT(stageText, live ? `stageNow.${job.stage}` : `statusText.${job.status}`);
    const failedStage = job.error && job.error.stage;
    const current = STAGES.indexOf(job.stage);
    for (const li of steps.children) {
      const i = STAGES.indexOf(li.dataset.stage);
      li.className = "step";
      if (failedStage === li.dataset.stage) li.classList.add("step-failed");
      else if (job.status === "succeeded" || (current >= 0 && i < current) || job.stage === "done") li.classList.add("step-done");
      else if (i === current && live) li.classList.add("step-current");
    }
    if (job.status === "failed" || job.status === "cancelled") {
      const parts = [];
      if (job.error) {
        parts.push(h("p", { class: "alert-title", t: "job.failedAt", vars: { stage: `stage.${job.error.stage}` } }));
        parts.push(h("p", { class: "error-reason", id: "error-reason" }, failureReason(job.error)));
      } else {
        parts.push(h("p", { class: "alert-title", t: `statusText.${job.status}` }));
      }
      if (job.refunded) parts.push(h("p", { class: "refunded", id: "refunded", t: "job.refunded", vars: { n: job.price } }));
      failure.replaceChildren(...parts);
      failure.hidden = false;
    }
    if (job.script && !shown.script) {
      shown.script = true;
      const s = job.script;
      scriptBox.append(
        h("p", { class: "script-hook" }, s.hook || ""),
        h("ol", { class: "script-scenes" }, (s.scenes || []).map((line) => h("li", {}, line))),
        s.call_to_action ? h("p", { class: "script-cta" }, s.call_to_action) : null,
      );
      scriptBox.hidden = false;
    }
    if (job.enhanced_image_url && !shown.image) {
      shown.image = true;
      imageBox.append(h("img", { src: job.enhanced_image_url, class: "enhanced-img", t: null, alt: "", tattr: { alt: "job.imageAlt" } }));
      imageBox.hidden = false;
    }
    if (job.video_url && !shown.video) {
      shown.video = true;
      const link = job.public_path ? apiOrigin() + job.public_path : job.video_url;
      const copied = h("span", { class: "copied", role: "status", "aria-live": "polite" });
      videoBox.append(
        h("video", {
          id: "player",
          class: `player ratio-${job.aspect_ratio.replace(":", "x")}`,
          src: job.video_url,
          poster: job.poster_url,
          controls: true,
          playsinline: true,
          preload: "metadata",
          tattr: { "aria-label": "job.player" },
        }),
        h(
          "div",
          { class: "video-actions" },
          // The download link asks storage to send the file as an
          // attachment: `download` alone is ignored across origins.
          h("a", { class: "btn btn-primary", href: job.download_url || job.video_url, download: `${job.title || "glimvid"}.mp4`, id: "download", t: "job.download" }),
          h(
            "button",
            {
              type: "button",
              class: "btn",
              id: "copy-link",
              t: "job.copyLink",
              on: {
                click: async () => {
                  setT(copied, (await copyText(link)) ? "job.copied" : "job.copyFailed");
                },
              },
            },
          ),
          copied,
        ),
        h("label", { for: "public-link", class: "label small", t: "job.publicLink" }),
        h("input", { id: "public-link", class: "public-link", readonly: true, value: link, on: { focus: (e) => e.target.select() } }),
      );
      videoBox.hidden = false;
    }
    if (!shown.variants && job.variant_ids && job.variant_ids.length > 1) {
      shown.variants = true;
      showVariants(job.variant_ids);
    }
    renderActions(job, live);
  }

  function renderActions(job, live) {
    const key = `${job.status}`;
    if (actions.dataset.for === key) return;
    actions.dataset.for = key;
    actions.replaceChildren(
      live
        ? button("job.cancel", {
            class: "btn btn-ghost",
            id: "cancel-job",
            on: {
              click: (e) =>
                busy(e.currentTarget, async () => {
                  try {
                    render(await api("POST", `/videos/${encodeURIComponent(id)}/cancel`));
                  } catch (err) {
                    showError(node, err);
                  }
                }),
            },
          })
        : deleteButton(id, () => go("#/videos")),
    );
  }

  async function poll() {
    if (!alive) return;
    try {
      const job = await api("GET", `/videos/${encodeURIComponent(id)}`);
      if (!alive) return;
      render(job);
      if (job.status === "queued" || job.status === "running") timer = setTimeout(poll, 1000);
    } catch (err) {
      if (!alive) return;
      showError(node, err);
      if (err.status === 0 || err.status >= 500 || err.status === 429) timer = setTimeout(poll, 3000);
    }
  }
  poll();

  return {
    title: "job.title",
    node,
    leave: () => {
      alive = false;
      clearTimeout(timer);
      clearTimeout(variantTimer);
    },
  };
}

/** Delete with an inline "are you sure" step instead of a modal prompt. */
function deleteButton(id, done) {
  const wrap = h("div", { class: "confirm-wrap" });
  const ask = () => {
    wrap.replaceChildren(
      h("span", { class: "confirm-q", t: "videos.confirmDelete" }),
      button("videos.yesDelete", {
        class: "btn btn-danger btn-small",
        "data-action": "confirm-delete",
        on: {
          click: (e) =>
            busy(e.currentTarget, async () => {
              try {
                await api("DELETE", `/videos/${encodeURIComponent(id)}`);
                flash("flash.videoDeleted");
                done();
              } catch (err) {
                const p = h("span", { class: "inline-error", role: "alert" });
                errorText(p, err);
                wrap.append(p);
              }
            }),
        },
      }),
      button("common.cancel", { class: "btn btn-ghost btn-small", on: { click: idle } }),
    );
    wrap.querySelector("[data-action=confirm-delete]").focus();
  };
  const idle = () => {
    wrap.replaceChildren(button("videos.delete", { class: "btn btn-ghost btn-small btn-danger-text", "data-action": "delete", on: { click: ask } }));
  };
  idle();
  return wrap;
}

// ---------------------------------------------------------------- my videos

function viewVideos() {
  const list = h("ul", { class: "video-grid", id: "video-list" });
  const empty = h(
    "div",
    { class: "card empty center", hidden: true },
    h("p", { t: "videos.empty" }),
    h("a", { class: "btn btn-primary", href: "#/new", t: "nav.new" }),
  );
  const more = button("common.loadMore", { class: "btn", hidden: true, id: "load-more" });
  const loadError = formError();
  let cursor = null;

  function card(job) {
    const thumb = job.poster_url
      ? h("img", { src: job.poster_url, alt: "", class: "thumb-img", loading: "lazy" })
      : h("div", { class: "thumb-placeholder", "aria-hidden": "true" }, "▶");
    const li = h(
      "li",
      { class: "video-card-item", "data-id": job.id },
      h("a", { href: `#/videos/${encodeURIComponent(job.id)}`, class: "thumb" }, thumb),
      h(
        "div",
        { class: "video-meta" },
        h("a", { href: `#/videos/${encodeURIComponent(job.id)}`, class: "video-title" }, job.title),
        h("div", { class: "meta-row" }, statusBadge(job.status), h("span", { class: "muted", fmt: { kind: "date", value: job.created_at } })),
        h(
          "div",
          { class: "meta-row muted small" },
          h("span", {}, job.aspect_ratio),
          " · ",
          h("span", { t: "videos.seconds", vars: { n: job.duration_s } }),
          job.group_id ? [" · ", h("span", { class: "variant-tag", t: "videos.variant", vars: { n: job.variant + 1, of: job.variant_ids.length } })] : null,
        ),
      ),
    );
    li.querySelector(".video-meta").append(
      deleteButton(job.id, () => {
        const group = li.parentElement && li.parentElement.closest("li.video-group");
        li.remove();
        if (group && !group.querySelector("li.video-card-item")) group.remove();
        if (!list.children.length) empty.hidden = false;
      }),
    );
    return li;
  }

  /**
   * Variants of one product sit together in one row, in order, so they
   * compare side by side; other videos each get their own tile.
   */
  function place(job) {
    if (!job.group_id) {
      list.append(card(job));
      return;
    }
    let group = list.querySelector(`li.video-group[data-group="${CSS.escape(job.group_id)}"] > ul`);
    if (!group) {
      group = h("ul", { class: "variant-row" });
      list.append(h("li", { class: "video-group", "data-group": job.group_id }, h("p", { class: "group-title", t: "videos.group", vars: { n: job.variant_ids.length } }), group));
    }
    const item = card(job);
    item.dataset.variant = String(job.variant);
    const after = [...group.children].find((c) => Number(c.dataset.variant) > job.variant);
    group.insertBefore(item, after || null);
  }

  async function load() {
    try {
      const page = await api("GET", `/videos${cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
      for (const job of page.items) place(job);
      cursor = page.next_cursor || null;
      more.hidden = !cursor;
      empty.hidden = list.children.length > 0;
    } catch (err) {
      showError(node, err);
    }
  }
  more.addEventListener("click", () => busy(more, load));
  const node = h(
    "section",
    { class: "page" },
    h("div", { class: "page-head row" }, h("h1", { class: "page-title", t: "videos.title", tabindex: "-1" }), h("a", { class: "btn btn-primary", href: "#/new", t: "nav.new" })),
    loadError,
    list,
    empty,
    h("div", { class: "center" }, more),
  );
  load();
  return { title: "videos.title", node };
}

// ---------------------------------------------------------------- credits

// The balance before a checkout, kept (in this tab only) for the trip to the
// payment page: the webhook may credit the account before the browser is back.
const CHECKOUT_KEY = "glimvid.checkout";
const CHECKOUT_POLL_MS = 1500;
const CHECKOUT_WAIT_MS = 30000;

function rememberCheckout(id, balance) {
  try {
    sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify({ id: id || null, balance }));
  } catch {
    // Storage off: the balance on arrival is the one to compare with.
  }
}

/** The balance remembered before checkout `id`, if any; forgets it either way. */
function takeCheckout(id) {
  try {
    const mark = JSON.parse(sessionStorage.getItem(CHECKOUT_KEY) || "null");
    sessionStorage.removeItem(CHECKOUT_KEY);
    if (mark && typeof mark.balance === "number" && (!id || !mark.id || mark.id === id)) return mark.balance;
  } catch {
    // Nothing usable remembered.
  }
  return null;
}

// A subscription's status as one of the job badges' colours.
const SUB_BADGE = {
  active: "succeeded",
  trialing: "succeeded",
  past_due: "failed",
  unpaid: "failed",
  incomplete: "cancelled",
  paused: "cancelled",
  canceled: "queued",
  incomplete_expired: "queued",
};
// Statuses of a plan that is over: a new one can be bought.
const SUB_ENDED = new Set(["canceled", "incomplete_expired"]);

function viewCredits(params) {
  let alive = true;
  let timer = null;
  let shownBalance = null;
  let subscription; // undefined until known, then null or the plan
  const balance = h("p", { class: "balance", id: "balance" }, "–");
  const ledger = h("tbody");
  const packs = h("div", { class: "packs", id: "packs" });
  const more = button("common.loadMore", { class: "btn", hidden: true });
  const note = h("p", { class: "muted", hidden: true, id: "credits-unavailable" });
  const ledgerCard = h(
    "section",
    { class: "card" },
    h("h2", { t: "credits.history" }),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "ledger" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col", t: "credits.when" }), h("th", { scope: "col", t: "credits.what" }), h("th", { scope: "col", class: "num", t: "credits.amount" }))),
        ledger,
      ),
    ),
    more,
  );
  let cursor = null;

  // ---- back from the payment page: `?checkout=success&session=cs_…` or `?checkout=cancelled`
  const checkout = params ? params.get("checkout") : null;
  const checkoutId = (params && params.get("session")) || null;
  const before = takeCheckout(checkoutId);
  const paid = checkout === "success";
  const cancelled = checkout === "cancelled" || checkout === "canceled";
  const banner =
    paid || cancelled
      ? h("p", {
          class: `notice checkout-result ${paid ? "notice-ok" : "notice-info"}`,
          id: "checkout-result",
          role: "status",
          "aria-live": "polite",
          "data-state": paid ? "pending" : "cancelled",
          t: paid ? "checkout.success" : "checkout.cancelled",
        })
      : null;
  // A reload must not show (or wait for) the same payment again.
  if (checkout !== null) history.replaceState(null, "", "#/credits");

  function ledgerRow(e) {
    return h(
      "tr",
      {},
      h("td", { fmt: { kind: "date", value: e.created_at } }),
      h("td", {}, h("span", { class: `kind kind-${e.kind}`, t: `kind.${e.kind}` }), e.reason ? h("span", { class: "muted small reason" }, ` ${e.reason}`) : null),
      h("td", { class: `num ${e.amount < 0 ? "neg" : "pos"}` }, e.amount > 0 ? `+${e.amount}` : String(e.amount)),
    );
  }

  /** Shows a page of the statement: the first one replaces the table, later ones add to it. */
  function showStatement(c, append) {
    shownBalance = c.balance;
    balance.textContent = String(c.balance);
    if (!append) ledger.replaceChildren();
    ledger.append(...(c.entries || []).map(ledgerRow));
    if (!ledger.children.length) ledger.append(h("tr", {}, h("td", { colspan: "3", class: "muted", t: "credits.noEntries" })));
    cursor = c.next_cursor || null;
    more.hidden = !cursor;
  }

  async function loadLedger(append = false) {
    try {
      const c = await api("GET", `/credits${append && cursor ? `?cursor=${encodeURIComponent(cursor)}` : ""}`);
      if (alive) showStatement(c, append);
      return c;
    } catch (err) {
      if (err.status === 404) {
        setT(note, "credits.unavailable");
        note.hidden = false;
        ledgerCard.hidden = true;
      } else {
        showError(node, err);
      }
      return null;
    }
  }
  more.addEventListener("click", () => busy(more, () => loadLedger(true)));

  /**
   * Polls the balance until the payment's credits arrive, for up to half a
   * minute: the balance moved from before the checkout (or from arrival), or
   * an entry names the checkout session as its source.
   */
  function watchCheckout(loaded) {
    let baseline = before !== null ? before : loaded ? loaded.balance : null;
    const deadline = Date.now() + CHECKOUT_WAIT_MS;
    const arrived = (c) =>
      (baseline !== null && c.balance !== baseline) || (!!checkoutId && (c.entries || []).some((e) => e.source === checkoutId));
    const finish = (state, key) => {
      if (!alive) return;
      banner.dataset.state = state;
      banner.className = `notice checkout-result ${state === "slow" ? "notice-warn" : "notice-ok"}`;
      say(banner, key);
      // A plan's subscription and the new payment show up with the credits.
      loadSubscription();
      loadInvoices();
    };
    if (loaded && arrived(loaded)) {
      finish("done", "checkout.arrived");
      return;
    }
    const tick = async () => {
      if (!alive) return;
      let c = null;
      try {
        c = await api("GET", "/credits");
      } catch {
        // The next tick tries again.
      }
      if (!alive) return;
      if (c) {
        if (c.balance !== shownBalance) showStatement(c, false);
        if (arrived(c)) {
          finish("done", "checkout.arrived");
          return;
        }
        if (baseline === null) baseline = c.balance;
      }
      if (Date.now() + CHECKOUT_POLL_MS > deadline) finish("slow", "checkout.slow");
      else timer = setTimeout(tick, CHECKOUT_POLL_MS);
    };
    timer = setTimeout(tick, CHECKOUT_POLL_MS);
  }

  // ---- buying: a pack once, or a plan every month, on the provider's hosted page
  function checkoutButton(key, body, attrs) {
    const slot = h("p", { class: "inline-error", role: "alert", hidden: true });
    const btn = button(key, {
      class: "btn btn-primary btn-block",
      ...attrs,
      on: {
        click: async () => {
          slot.hidden = true;
          await busy(btn, async () => {
            try {
              const r = await api("POST", "/billing/checkout", body);
              if (r && r.url) {
                rememberCheckout(r.id, shownBalance);
                window.location.assign(r.url);
              } else {
                say(slot, "err.generic");
              }
            } catch (err) {
              if (err.status === 404) say(slot, "credits.buyUnavailable");
              else {
                errorText(slot, err);
                slot.hidden = false;
              }
              if (err.code === "already_subscribed") await loadSubscription();
            }
          });
          // busy() enables the button again; a plan may rule it out.
          updatePlans();
        },
      },
    });
    return [btn, slot];
  }

  const plansBox = h("div", { class: "packs", id: "plans" });
  const plansHint = h("p", { class: "hint", id: "plans-hint", hidden: true, t: "plans.subscribedHint" });
  const plansCard = h(
    "section",
    { class: "card", id: "plans-card", hidden: true },
    h("h2", { t: "credits.plans" }),
    h("p", { class: "muted small", t: "plans.lead" }),
    plansBox,
    plansHint,
  );

  function planCard(p) {
    const [btn, slot] = checkoutButton("plans.subscribe", { plan: p.id }, { "data-plan": p.id });
    return h(
      "div",
      { class: "pack plan", "data-plan-card": p.id },
      h("p", { class: "pack-credits", t: "plans.credits", vars: { n: p.credits_per_month } }),
      h(
        "p",
        { class: "pack-price" },
        h("span", { fmt: { kind: "money", value: p.price_cents, currency: p.currency } }),
        h("span", { class: "per", t: "plans.perMonth" }),
      ),
      h("p", { class: "muted small", t: "plans.videos", vars: { n: p.credits_per_month } }),
      h("p", { class: "plan-current", hidden: true }, h("span", { class: "badge badge-running", t: "plans.current" })),
      btn,
      slot,
    );
  }

  /** With a plan running, the plans can't be bought again (the portal changes them). */
  function updatePlans() {
    const active = !!subscription && !SUB_ENDED.has(subscription.status);
    plansHint.hidden = !active;
    for (const card of plansBox.querySelectorAll("[data-plan-card]")) {
      const mine = active && subscription.plan === card.dataset.planCard;
      card.classList.toggle("pack-current", mine);
      card.querySelector(".plan-current").hidden = !mine;
      const btn = card.querySelector("button[data-plan]");
      if (btn.hasAttribute("aria-busy")) continue;
      btn.disabled = active;
      if (active) btn.setAttribute("aria-describedby", "plans-hint");
      else btn.removeAttribute("aria-describedby");
    }
  }

  api("GET", "/credits/packs")
    .then(({ packs: list, plans: planList }) => {
      packs.replaceChildren(
        ...(list || []).map((p) =>
          h(
            "div",
            { class: "pack" },
            h("p", { class: "pack-credits", t: "credits.packCredits", vars: { n: p.credits } }),
            h("p", { class: "pack-price", fmt: { kind: "money", value: p.price_cents, currency: p.currency } }),
            h("p", { class: "muted small", t: "credits.packVideos", vars: { n: p.credits } }),
            ...checkoutButton("credits.buy", { pack: p.id }, { "data-pack": p.id }),
          ),
        ),
      );
      plansBox.replaceChildren(...(planList || []).map(planCard));
      plansCard.hidden = !plansBox.children.length;
      updatePlans();
    })
    .catch(() => {
      packs.replaceChildren(h("p", { class: "muted", t: "credits.packsUnavailable" }));
    });

  // ---- the monthly plan
  const subBody = h("div", { class: "subscription-body" }, h("p", { class: "muted" }, "…"));
  const subError = h("p", { class: "inline-error", role: "alert", hidden: true });
  const manage = button("sub.manage", {
    class: "btn",
    id: "manage-billing",
    hidden: true,
    on: {
      click: () =>
        busy(manage, async () => {
          subError.hidden = true;
          try {
            const r = await api("POST", "/billing/portal");
            if (r && r.url) window.location.assign(r.url);
            else say(subError, "err.generic");
          } catch (err) {
            errorText(subError, err);
            subError.hidden = false;
            if (err.code === "no_billing_account") {
              manage.hidden = true;
              manageHint.hidden = true;
            }
          }
        }),
    },
  });
  const manageHint = h("p", { class: "muted small", t: "sub.manageHint", hidden: true });
  const subCard = h(
    "section",
    { class: "card", id: "subscription", "data-state": "loading" },
    h("h2", { t: "sub.title" }),
    subBody,
    h("div", { class: "form-actions start" }, manage, manageHint),
    subError,
  );

  function renderSubscription() {
    const s = subscription;
    subCard.dataset.state = s ? s.status : "none";
    manage.hidden = !s;
    manageHint.hidden = !s;
    if (!s) {
      subBody.replaceChildren(h("p", { class: "muted", id: "subscription-none", t: "sub.none" }));
      return;
    }
    const statusKey = `sub.status.${s.status}`;
    const known = t(statusKey, null, null) !== null;
    const ended = SUB_ENDED.has(s.status);
    const parts = [
      h(
        "p",
        { class: "plan-line" },
        h("strong", { class: "plan-name", id: "subscription-plan", "data-plan-id": s.plan, t: "plans.credits", vars: { n: s.credits_per_month } }),
        h("span", { class: `badge badge-${SUB_BADGE[s.status] || "queued"}`, id: "subscription-status", "data-status": s.status, t: known ? statusKey : null }, known ? null : s.status),
      ),
      s.current_period_end
        ? h("p", {
            class: "muted",
            id: "subscription-period",
            t: ended ? "sub.ended" : s.cancel_at_period_end ? "sub.ends" : "sub.renews",
            vars: { date: { kind: "date", value: s.current_period_end } },
          })
        : null,
      s.status === "past_due" || s.status === "unpaid" ? h("p", { class: "inline-error", id: "subscription-past-due", t: "sub.pastDue" }) : null,
    ];
    subBody.replaceChildren(...parts.filter(Boolean));
  }

  async function loadSubscription() {
    try {
      const r = await api("GET", "/billing/subscription");
      if (!alive) return;
      subscription = (r && r.subscription) || null;
      subError.hidden = true;
      renderSubscription();
    } catch (err) {
      if (!alive) return;
      if (err.status === 404) {
        subCard.dataset.state = "unavailable";
        subBody.replaceChildren(h("p", { class: "muted", t: "sub.unavailable" }));
      } else {
        if (subscription === undefined) subCard.dataset.state = "error";
        errorText(subError, err);
        subError.hidden = false;
      }
    }
    updatePlans();
  }

  // ---- payments made
  const invoiceRows = h("tbody");
  const invoiceNote = h("p", { class: "muted", hidden: true });
  const invoiceError = h("p", { class: "inline-error", role: "alert", hidden: true });
  const invoiceTable = h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "ledger invoices" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", { scope: "col", t: "invoices.date" }),
          h("th", { scope: "col", t: "invoices.what" }),
          h("th", { scope: "col", class: "num", t: "invoices.credits" }),
          h("th", { scope: "col", class: "num", t: "invoices.amount" }),
          h("th", { scope: "col", t: "invoices.invoice" }),
        ),
      ),
      invoiceRows,
    ),
  );
  const invoicesCard = h("section", { class: "card", id: "invoices" }, h("h2", { t: "invoices.title" }), invoiceTable, invoiceNote, invoiceError);

  function invoiceRow(inv) {
    const known = inv.kind === "pack" || inv.kind === "plan";
    // Only a web address becomes a link (never e.g. a javascript: one).
    const url = typeof inv.invoice_url === "string" && /^https?:\/\//i.test(inv.invoice_url) ? inv.invoice_url : null;
    return h(
      "tr",
      { "data-invoice": inv.id },
      h("td", { fmt: { kind: "date", value: inv.paid_at } }),
      h(
        "td",
        {},
        known ? h("span", { class: `kind kind-${inv.kind}`, t: `invoices.kind.${inv.kind}` }) : null,
        inv.description ? h("span", { class: known ? "muted small reason" : null }, known ? ` ${inv.description}` : inv.description) : null,
      ),
      h("td", { class: "num pos" }, inv.credits ? `+${inv.credits}` : "–"),
      h("td", { class: "num", fmt: { kind: "money", value: inv.amount_cents, currency: inv.currency } }),
      h(
        "td",
        {},
        url
          ? h(
              "a",
              { href: url, target: "_blank", rel: "noopener noreferrer", class: "invoice-link" },
              h("span", { t: "invoices.link" }),
              h("span", { class: "sr-only", t: "common.newTab" }),
            )
          : null,
      ),
    );
  }

  async function loadInvoices() {
    try {
      const r = await api("GET", "/billing/invoices");
      if (!alive) return;
      const list = (r && r.invoices) || [];
      invoiceRows.replaceChildren(...list.map(invoiceRow));
      if (!list.length) invoiceRows.append(h("tr", {}, h("td", { colspan: "5", class: "muted", id: "invoices-empty", t: "invoices.none" })));
      invoicesCard.dataset.count = String(list.length);
      invoiceError.hidden = true;
    } catch (err) {
      if (!alive) return;
      if (err.status === 404) {
        say(invoiceNote, "invoices.unavailable");
        invoiceTable.hidden = true;
      } else {
        errorText(invoiceError, err);
        invoiceError.hidden = false;
      }
    }
  }

  const node = h(
    "section",
    { class: "page" },
    pageHead("credits.title", "credits.lead"),
    banner,
    formError(),
    h("div", { class: "card balance-card" }, h("p", { class: "label", t: "credits.balance" }), balance, note, h("p", { class: "muted small", t: "credits.prices" })),
    h("section", { class: "card" }, h("h2", { t: "credits.packs" }), packs, h("p", { class: "muted small", t: "credits.cardNote" })),
    plansCard,
    subCard,
    invoicesCard,
    ledgerCard,
  );
  const loaded = loadLedger();
  if (paid) loaded.then(watchCheckout);
  loadSubscription();
  loadInvoices();
  return {
    title: "credits.title",
    node,
    leave: () => {
      alive = false;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------- account

const EXPORT_POLL_EVERY = 2000;
const EXPORT_POLL_LIMIT = 10 * 60 * 1000;

// ---- developers: personal API keys and webhook endpoints

const DELIVERY_BADGE = { pending: "queued", delivered: "succeeded", retrying: "cancelled", failed: "failed" };

/** Marks a form field as needing attention with a translated message (checks made here, before any request). */
function fieldProblem(form, name, key) {
  const wrap = form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  say(wrap.querySelector(".field-error"), key);
  const input = wrap.querySelector("input, textarea, select");
  input.setAttribute("aria-invalid", "true");
  input.focus();
}

/**
 * A secret shown once, right after it was made (an API key, a webhook's
 * signing secret): a read-only field to copy it from, and a note that it
 * will not be shown again.
 */
function secretOnce({ id, labelKey, noteKey, secret, extra }) {
  const copied = h("span", { class: "copied", role: "status", "aria-live": "polite" });
  const input = h("input", {
    id: `${id}-value`,
    class: "secret-value",
    readonly: true,
    value: secret,
    spellcheck: "false",
    autocomplete: "off",
    "aria-describedby": `${id}-note`,
    on: { focus: (e) => e.target.select() },
  });
  const copy = button("common.copy", {
    class: "btn btn-small",
    id: `${id}-copy`,
    on: { click: async () => setT(copied, (await copyText(secret)) ? "common.copied" : "common.copyFailed") },
  });
  const box = h(
    "div",
    { class: "secret-once", id, role: "group", "aria-labelledby": `${id}-label` },
    h("label", { class: "label", id: `${id}-label`, for: `${id}-value`, t: labelKey }),
    h("p", { class: "secret-note", id: `${id}-note`, t: noteKey }),
    h("div", { class: "secret-row" }, input, copy),
    copied,
    extra || null,
    h("div", { class: "form-actions start" }, button("dev.savedIt", { class: "btn btn-ghost btn-small", id: `${id}-done`, on: { click: () => box.remove() } })),
  );
  return box;
}

/** A list's "nothing here" line, there exactly when the list has no items. */
function syncEmpty(list, key) {
  const items = list.querySelectorAll(".dev-item");
  const empty = list.querySelector(".dev-empty");
  if (!items.length && !empty) list.append(h("li", { class: "dev-empty muted", t: key }));
  if (items.length && empty) empty.remove();
}

/**
 * Fills a developer list from `GET path` (`{items}`), one `item(row)` each;
 * `data-state` tells tests and styles whether it is loading, ready or failed.
 * `alive()` is false once the page was left, so a late answer changes nothing.
 */
async function fillList({ list, error, path, item, emptyKey, alive }) {
  list.dataset.state = "loading";
  try {
    const r = await api("GET", path);
    if (!alive()) return;
    list.replaceChildren(...((r && r.items) || []).map(item));
    syncEmpty(list, emptyKey);
    list.dataset.state = "ready";
    error.hidden = true;
  } catch (err) {
    if (!alive()) return;
    list.dataset.state = "error";
    errorText(error, err);
    error.hidden = false;
  }
}

/** A webhook endpoint's recent deliveries, newest as the server orders them. */
function deliveriesTable(items) {
  const when = (v) => (v ? h("span", { fmt: { kind: "date", value: v } }) : "–");
  const cols = ["when", "event", "video", "status", "attempts", "lastTry", "nextTry"];
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "ledger deliveries-table" },
      h("thead", {}, h("tr", {}, cols.map((k) => h("th", { scope: "col", class: k === "attempts" ? "num" : null, t: `deliveries.${k}` })))),
      h(
        "tbody",
        {},
        items.map((d) => {
          const badge = Object.hasOwn(DELIVERY_BADGE, d.status) ? DELIVERY_BADGE[d.status] : null;
          return h(
            "tr",
            { "data-delivery": d.id, "data-status": d.status },
            h("td", {}, when(d.created_at)),
            h("td", {}, h("code", {}, d.event || "")),
            h("td", {}, d.job_id ? h("a", { href: `#/videos/${encodeURIComponent(d.job_id)}`, class: "delivery-job" }, d.job_id) : "–"),
            h("td", {}, h("span", { class: `badge badge-${badge || "queued"}`, t: badge ? `deliveries.status.${d.status}` : null }, badge ? null : d.status || "")),
            h("td", { class: "num" }, String(d.attempts ?? 0)),
            h(
              "td",
              { class: "delivery-last" },
              when(d.last_attempt_at),
              d.last_status_code !== null && d.last_status_code !== undefined
                ? h("span", { class: "delivery-code", t: "deliveries.http", vars: { code: String(d.last_status_code) } })
                : null,
              d.last_error ? h("span", { class: "delivery-error muted small" }, d.last_error) : null,
            ),
            h("td", {}, when(d.next_attempt_at)),
          );
        }),
      ),
    ),
  );
}

/** The account page's card for API keys and webhooks. */
function developerCard() {
  let alive = true;

  /**
   * Deletes an item after the browser's confirm dialog; one already gone
   * (e.g. from another tab) counts as deleted.
   */
  function removeAfterConfirm(btn, question, path, error, done) {
    if (!window.confirm(question)) return;
    busy(btn, async () => {
      error.hidden = true;
      try {
        await api("DELETE", path);
      } catch (err) {
        if (err.code !== "not_found") {
          if (alive) {
            errorText(error, err);
            error.hidden = false;
          }
          return;
        }
      }
      if (alive) done();
    });
  }

  // ---- API keys
  const keysTitle = h("h3", { id: "api-keys-title", tabindex: "-1", t: "apiKeys.title" });
  const keyStatus = h("p", { class: "saved", id: "api-key-status", role: "status", "aria-live": "polite" });
  const keyNew = h("div", { class: "secret-slot", id: "api-key-new" });
  const keyList = h("ul", { class: "dev-list", id: "api-key-list", "data-state": "loading", "aria-labelledby": "api-keys-title" });
  const keyListError = h("p", { class: "inline-error", role: "alert", hidden: true });
  const keyForm = h(
    "form",
    { class: "form dev-form", id: "api-key-form", novalidate: true },
    formError(),
    field({ name: "name", label: "field.apiKeyName", id: "f-api-key-name", maxlength: "64", autocomplete: "off", hint: "apiKeys.nameHint", required: true }),
    h("div", { class: "form-actions start" }, h("button", { type: "submit", class: "btn btn-primary", id: "create-api-key", t: "apiKeys.create" })),
  );

  function keyItem(k) {
    const error = h("p", { class: "inline-error", role: "alert", hidden: true });
    const label = k.name || k.prefix || "";
    const revoke = h(
      "button",
      { type: "button", class: "btn btn-ghost btn-small btn-danger-text", "data-action": "revoke" },
      h("span", { t: "apiKeys.revoke" }),
      h("span", { class: "sr-only" }, ` ${label}`),
    );
    const li = h(
      "li",
      { class: "dev-item", "data-key-id": k.id },
      h(
        "div",
        { class: "dev-item-main" },
        h(
          "p",
          { class: "dev-item-title" },
          h("strong", { class: "key-name" }, k.name || ""),
          " ",
          h("span", { class: "key-id" }, h("code", { class: "key-prefix" }, k.prefix || ""), h("span", { class: "key-more", "aria-hidden": "true" }, "…")),
        ),
        h(
          "p",
          { class: "muted small dev-item-meta" },
          h("span", { t: "apiKeys.created", vars: { date: { kind: "date", value: k.created_at } } }),
          " · ",
          k.last_used_at
            ? h("span", { class: "key-last-used", t: "apiKeys.lastUsed", vars: { date: { kind: "date", value: k.last_used_at } } })
            : h("span", { class: "key-last-used", "data-never": "true", t: "apiKeys.neverUsed" }),
        ),
        error,
      ),
      h("div", { class: "dev-item-actions" }, revoke),
    );
    revoke.addEventListener("click", () =>
      removeAfterConfirm(revoke, t("apiKeys.confirmRevoke", { name: label }), `/me/api-keys/${encodeURIComponent(k.id)}`, error, () => {
        li.remove();
        const shown = keyNew.querySelector("#new-api-key");
        if (shown && shown.dataset.keyId === String(k.id)) keyNew.replaceChildren();
        syncEmpty(keyList, "apiKeys.none");
        say(keyStatus, "apiKeys.revoked", { name: label });
        keysTitle.focus({ preventScroll: true });
      }),
    );
    return li;
  }

  const loadKeys = () =>
    fillList({ list: keyList, error: keyListError, path: "/me/api-keys", item: keyItem, emptyKey: "apiKeys.none", alive: () => alive });

  keyForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(keyForm);
    keyStatus.textContent = "";
    const name = value(keyForm, "name").trim();
    if (!name) {
      fieldProblem(keyForm, "name", "apiKeys.nameNeeded");
      return;
    }
    await busy(keyForm.querySelector("button[type=submit]"), async () => {
      try {
        const k = await api("POST", "/me/api-keys", { name });
        if (!alive) return;
        keyForm.reset();
        const box = secretOnce({ id: "new-api-key", labelKey: "apiKeys.newLabel", noteKey: "apiKeys.once", secret: (k && k.key) || "" });
        box.dataset.keyId = String(k.id);
        keyNew.replaceChildren(box);
        const old = keyList.querySelector(`[data-key-id="${CSS.escape(String(k.id))}"]`);
        if (old) old.remove();
        keyList.prepend(keyItem(k));
        syncEmpty(keyList, "apiKeys.none");
        box.querySelector(".secret-value").focus();
      } catch (err) {
        showError(keyForm, err);
      }
    });
  });

  // ---- webhook endpoints
  const hooksTitle = h("h3", { id: "webhooks-title", tabindex: "-1", t: "webhooks.title" });
  const hookStatus = h("p", { class: "saved", id: "webhook-status", role: "status", "aria-live": "polite" });
  const hookNew = h("div", { class: "secret-slot", id: "webhook-new" });
  const hookList = h("ul", { class: "dev-list", id: "webhook-list", "data-state": "loading", "aria-labelledby": "webhooks-title" });
  const hookListError = h("p", { class: "inline-error", role: "alert", hidden: true });
  const hookForm = h(
    "form",
    { class: "form dev-form", id: "webhook-form", novalidate: true },
    formError(),
    field({
      name: "url",
      label: "field.webhookUrl",
      id: "f-webhook-url",
      inputmode: "url",
      autocomplete: "off",
      spellcheck: "false",
      maxlength: "2048",
      hint: "webhooks.urlHint",
      required: true,
      tattr: { placeholder: "ph.webhookUrl" },
    }),
    h("div", { class: "form-actions start" }, h("button", { type: "submit", class: "btn btn-primary", id: "create-webhook", t: "webhooks.add" })),
  );

  function webhookItem(w) {
    const error = h("p", { class: "inline-error", role: "alert", hidden: true });
    const panelId = uid("deliveries");
    const panel = h("div", { class: "deliveries", id: panelId, hidden: true, "data-state": "idle" });
    const toggle = h(
      "button",
      { type: "button", class: "btn btn-small", "data-action": "deliveries", "aria-expanded": "false", "aria-controls": panelId },
      h("span", { t: "webhooks.deliveries" }),
      h("span", { class: "sr-only" }, ` ${w.url || ""}`),
    );
    const del = h(
      "button",
      { type: "button", class: "btn btn-ghost btn-small btn-danger-text", "data-action": "delete" },
      h("span", { t: "webhooks.delete" }),
      h("span", { class: "sr-only" }, ` ${w.url || ""}`),
    );
    const refresh = button("deliveries.refresh", { class: "btn btn-ghost btn-small", "data-action": "refresh-deliveries" });
    const li = h(
      "li",
      { class: "dev-item dev-webhook", "data-webhook-id": w.id },
      h(
        "div",
        { class: "dev-item-main" },
        h("p", { class: "dev-item-title" }, h("code", { class: "webhook-url" }, w.url || "")),
        h("p", { class: "muted small dev-item-meta" }, h("span", { t: "webhooks.created", vars: { date: { kind: "date", value: w.created_at } } })),
        error,
      ),
      h("div", { class: "dev-item-actions" }, toggle, del),
      panel,
    );

    async function loadDeliveries() {
      panel.dataset.state = "loading";
      if (!panel.querySelector("table")) panel.replaceChildren(h("p", { class: "muted small", t: "deliveries.loading" }));
      try {
        const r = await api("GET", `/me/webhooks/${encodeURIComponent(w.id)}/deliveries`);
        if (!alive) return;
        const items = (r && r.items) || [];
        panel.replaceChildren(
          items.length ? deliveriesTable(items) : h("p", { class: "muted small deliveries-empty", t: "deliveries.none" }),
          h("div", { class: "form-actions start" }, refresh),
        );
        panel.dataset.state = "ready";
        panel.dataset.count = String(items.length);
      } catch (err) {
        if (!alive) return;
        const msg = h("p", { class: "inline-error", role: "alert" });
        errorText(msg, err);
        panel.replaceChildren(msg, h("div", { class: "form-actions start" }, refresh));
        panel.dataset.state = "error";
      }
    }
    refresh.addEventListener("click", () => busy(refresh, loadDeliveries));
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      panel.hidden = !open;
      if (open) loadDeliveries();
    });
    del.addEventListener("click", () =>
      removeAfterConfirm(del, t("webhooks.confirmDelete", { url: w.url || "" }), `/me/webhooks/${encodeURIComponent(w.id)}`, error, () => {
        li.remove();
        const shown = hookNew.querySelector("#new-webhook-secret");
        if (shown && shown.dataset.webhookId === String(w.id)) hookNew.replaceChildren();
        syncEmpty(hookList, "webhooks.none");
        say(hookStatus, "webhooks.deleted");
        hooksTitle.focus({ preventScroll: true });
      }),
    );
    return li;
  }

  const loadHooks = () =>
    fillList({ list: hookList, error: hookListError, path: "/me/webhooks", item: webhookItem, emptyKey: "webhooks.none", alive: () => alive });

  hookForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(hookForm);
    hookStatus.textContent = "";
    const url = value(hookForm, "url").trim();
    if (!url) {
      fieldProblem(hookForm, "url", "webhooks.urlNeeded");
      return;
    }
    await busy(hookForm.querySelector("button[type=submit]"), async () => {
      try {
        const w = await api("POST", "/me/webhooks", { url });
        if (!alive) return;
        hookForm.reset();
        const box = secretOnce({
          id: "new-webhook-secret",
          labelKey: "webhooks.newLabel",
          noteKey: "webhooks.once",
          secret: (w && w.secret) || "",
          extra: h("p", { class: "small" }, h("a", { href: "#/api?op=webhook-signature", t: "webhooks.verifyLink" })),
        });
        box.dataset.webhookId = String(w.id);
        hookNew.replaceChildren(box);
        const old = hookList.querySelector(`[data-webhook-id="${CSS.escape(String(w.id))}"]`);
        if (old) old.remove();
        hookList.prepend(webhookItem(w));
        syncEmpty(hookList, "webhooks.none");
        box.querySelector(".secret-value").focus();
      } catch (err) {
        showError(hookForm, err);
      }
    });
  });

  const node = h(
    "section",
    { class: "card dev-card", id: "developer", "aria-labelledby": "developer-title" },
    h("h2", { id: "developer-title", t: "dev.title" }),
    h("p", {}, h("span", { t: "dev.text" }), " ", h("a", { href: "#/api", id: "api-docs-link", t: "dev.docs" })),
    h(
      "section",
      { class: "dev-part", id: "api-keys", "aria-labelledby": "api-keys-title" },
      keysTitle,
      h("p", { class: "muted small" }, h("span", { t: "apiKeys.text" }), " ", h("code", {}, "Authorization: Bearer glv_…")),
      keyForm,
      keyNew,
      keyList,
      keyListError,
      keyStatus,
    ),
    h(
      "section",
      { class: "dev-part", id: "webhook-endpoints", "aria-labelledby": "webhooks-title" },
      hooksTitle,
      h("p", { class: "muted small", t: "webhooks.text" }),
      hookForm,
      hookNew,
      hookList,
      hookListError,
      hookStatus,
    ),
  );
  loadKeys();
  loadHooks();
  return { node, leave: () => (alive = false) };
}

function viewAccount() {
  const user = state.user || {};
  const musicSelect = h(
    "select",
    { id: "f-music", name: "music", "aria-describedby": "f-music-error" },
    MUSIC.map((m) => h("option", { value: m, t: `music.${m}` })),
  );
  const langSelect = h(
    "select",
    { id: "f-account-language", name: "language", "aria-describedby": "f-account-language-error" },
    h("option", { value: "en", selected: user.language === "en" }, "English"),
    h("option", { value: "zh", selected: user.language === "zh" }, "中文"),
  );
  const saved = (id) => h("p", { class: "saved", id, role: "status", "aria-live": "polite" });

  const profileSaved = saved("profile-saved");
  const profile = h(
    "form",
    { class: "card form", id: "profile-form", novalidate: true },
    h("h2", { t: "account.profile" }),
    formError(),
    field({ name: "name", label: "field.name", value: user.name || "", autocomplete: "name", id: "f-account-name" }),
    field({ name: "language", label: "field.language", control: langSelect, id: "f-account-language" }),
    checkbox({ name: "marketing_opt_in", label: "account.marketing", checked: !!user.marketing_opt_in }),
    checkbox({ name: "training_opt_out", label: "account.training", checked: !!user.training_opt_out, hint: "account.trainingHint" }),
    checkbox({ name: "notify_jobs", id: "notify-jobs", label: "account.notifyJobs", checked: user.notify_jobs !== false }),
    h("div", { class: "form-actions" }, profileSaved, h("button", { type: "submit", class: "btn btn-primary", t: "common.save" })),
  );
  profile.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(profile);
    profileSaved.textContent = "";
    await busy(profile.querySelector("button[type=submit]"), async () => {
      try {
        state.user = await api("PATCH", "/me", {
          name: value(profile, "name"),
          language: value(profile, "language"),
          marketing_opt_in: value(profile, "marketing_opt_in"),
          training_opt_out: value(profile, "training_opt_out"),
          notify_jobs: value(profile, "notify_jobs"),
        });
        if (state.user.language !== getLang()) setLang(state.user.language);
        setT(profileSaved, "common.saved");
      } catch (err) {
        showError(profile, err);
      }
    });
  });

  // The address, whether it is confirmed, a change waiting for confirmation.
  const emailBadge = h("span", { id: "email-status" });
  const resendStatus = h("p", { class: "notice-status", id: "resend-status", role: "status", "aria-live": "polite" });
  const resendBtn = button("verify.resend", { class: "btn btn-small", id: "resend-verification" });
  const pending = h("p", { class: "muted", id: "pending-email", hidden: true });
  function showEmailState(u) {
    const known = typeof u.email_verified === "boolean";
    emailBadge.replaceChildren(
      known
        ? h("span", { class: `badge ${u.email_verified ? "badge-succeeded" : "badge-cancelled"}`, t: u.email_verified ? "account.verified" : "account.notVerified" })
        : "",
    );
    emailBadge.dataset.verified = known ? String(u.email_verified) : "";
    resendBtn.hidden = !known || u.email_verified;
    if (u.pending_email) say(pending, "account.pendingEmail", { email: u.pending_email });
    else pending.hidden = true;
  }
  resendBtn.addEventListener("click", () =>
    resendVerification(resendBtn, resendStatus, () => showEmailState({ ...(state.user || user), email_verified: true })),
  );
  showEmailState(user);

  const emailSaved = saved("email-saved");
  const emailForm = h(
    "form",
    { class: "form", id: "email-form", novalidate: true },
    formError(),
    field({ name: "email", label: "field.newEmail", type: "email", autocomplete: "email", hint: "account.emailHint", id: "f-new-email" }),
    field({ name: "password", label: "field.currentPassword", type: "password", autocomplete: "current-password", id: "f-email-password" }),
    h("div", { class: "form-actions" }, emailSaved, h("button", { type: "submit", class: "btn btn-primary", t: "account.changeEmail" })),
  );
  emailForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(emailForm);
    emailSaved.textContent = "";
    await busy(emailForm.querySelector("button[type=submit]"), async () => {
      try {
        const r = await api("POST", "/me/email", { email: value(emailForm, "email").trim(), password: value(emailForm, "password") });
        if (state.user) state.user.pending_email = r.pending_email;
        showEmailState({ ...(state.user || user), pending_email: r.pending_email });
        emailForm.reset();
        say(emailSaved, "account.emailPending", { email: r.pending_email });
      } catch (err) {
        showError(emailForm, err, { current: "password", new_email: "email" });
      }
    });
  });
  const email = h(
    "section",
    { class: "card", id: "email-card" },
    h("h2", { t: "account.email" }),
    h("p", { class: "email-line" }, h("strong", { id: "account-email" }, user.email || ""), emailBadge, resendBtn),
    resendStatus,
    pending,
    emailForm,
  );

  const passwordSaved = saved("password-saved");
  const password = h(
    "form",
    { class: "card form", id: "password-form", novalidate: true },
    h("h2", { t: "account.password" }),
    formError(),
    field({ name: "current", label: "field.currentPassword", type: "password", autocomplete: "current-password", id: "f-current" }),
    field({ name: "new", label: "field.newPassword", type: "password", autocomplete: "new-password", hint: "hint.password", id: "f-new" }),
    h("div", { class: "form-actions" }, passwordSaved, h("button", { type: "submit", class: "btn btn-primary", t: "account.changePassword" })),
  );
  password.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(password);
    passwordSaved.textContent = "";
    await busy(password.querySelector("button[type=submit]"), async () => {
      try {
        await api("POST", "/me/password", { current: value(password, "current"), new: value(password, "new") });
        password.reset();
        setT(passwordSaved, "account.passwordChanged");
      } catch (err) {
        showError(password, err);
      }
    });
  });

  // The export is made in the background: POST starts it (or returns the
  // one already pending), then the page polls until it is ready. A mail
  // with a link to this page is sent too, so leaving early is fine.
  const exportStatus = saved("export-status");
  const exportLink = h("p", { class: "export-link", id: "export-link", hidden: true });
  const exportBox = h("div", { class: "form" }, formError());
  const exportError = exportBox.querySelector(".form-error");
  let exportAlive = true;
  let exportTimer = null;
  let exportPolling = null;

  function stopExportPoll() {
    clearTimeout(exportTimer);
    exportTimer = null;
    exportPolling = null;
  }

  function sayExport(key, vars) {
    // Unchanged text is left alone so the live region is not re-announced.
    if (exportStatus.dataset.i18n !== key || !exportStatus.textContent) setT(exportStatus, key, vars);
  }

  function clearExport() {
    delete exportStatus.dataset.i18n;
    delete exportStatus.dataset.done;
    exportStatus.textContent = "";
    exportLink.hidden = true;
    exportLink.replaceChildren();
  }

  function downloadLink(exp) {
    const size = Number(exp.size_bytes);
    let label = { t: "account.exportDownload" };
    if (size >= 1024 * 1024) label = { t: "account.exportDownloadMB", vars: { n: { kind: "number", value: Math.round(size / 104857.6) / 10 } } };
    else if (size >= 0 && exp.size_bytes != null) label = { t: "account.exportDownloadKB", vars: { n: { kind: "number", value: Math.max(1, Math.round(size / 1024)) } } };
    const day = String(exp.ready_at || exp.created_at || new Date().toISOString()).slice(0, 10);
    // The link itself is short-lived; a stale one is swapped for a fresh one on click.
    const staleAt = Number(exp.expires_in) > 0 ? Date.now() + Number(exp.expires_in) * 1000 - 5000 : Infinity;
    const link = h("a", { id: "export-download", href: exp.url, download: `glimvid-export-${day}.json`, ...label });
    link.addEventListener("click", async (e) => {
      if (Date.now() < staleAt) return;
      e.preventDefault();
      clearErrors(exportBox);
      try {
        const fresh = await api("GET", `/me/exports/${encodeURIComponent(exp.id)}`);
        if (!exportAlive) return;
        showExport(fresh, false);
        const next = exportLink.querySelector("#export-download");
        if (next) next.click();
      } catch (err) {
        if (exportAlive) showError(exportBox, err);
      }
    });
    return link;
  }

  /** Shows an export's state; `fresh` when it was made during this visit. */
  function showExport(exp, fresh) {
    if (!exportAlive || !exp) return;
    if (exp.status === "ready" && exp.url) {
      stopExportPoll();
      sayExport(fresh ? "account.exported" : "account.exportReady");
      exportStatus.dataset.done = "true";
      exportLink.replaceChildren(
        downloadLink(exp),
        exp.available_until
          ? h("span", { class: "hint" }, " ", h("span", { t: "account.exportUntil", vars: { date: { kind: "date", value: exp.available_until } } }))
          : null,
      );
      exportLink.hidden = false;
    } else if (exp.status === "failed") {
      stopExportPoll();
      clearExport();
      delete exportError.dataset.i18nFallback;
      exportError.dataset.preferFallback = "";
      setT(exportError, "account.exportFailed");
      exportError.hidden = false;
    } else {
      delete exportStatus.dataset.done;
      exportLink.hidden = true;
      exportLink.replaceChildren();
      sayExport("account.exportPreparing");
    }
  }

  function pollExport(id) {
    stopExportPoll();
    exportPolling = id;
    const started = Date.now();
    const tick = async () => {
      if (!exportAlive || exportPolling !== id) return;
      if (Date.now() - started > EXPORT_POLL_LIMIT) {
        stopExportPoll();
        sayExport("account.exportSlow");
        return;
      }
      try {
        const exp = await api("GET", `/me/exports/${encodeURIComponent(id)}`);
        if (!exportAlive || exportPolling !== id) return;
        showExport(exp, true);
        if (exp.status === "pending") exportTimer = setTimeout(tick, EXPORT_POLL_EVERY);
      } catch (err) {
        if (!exportAlive || exportPolling !== id) return;
        if (err.status === 0 || err.status >= 500 || err.status === 429) {
          exportTimer = setTimeout(tick, EXPORT_POLL_EVERY);
        } else {
          stopExportPoll();
          clearExport();
          showError(exportBox, err);
        }
      }
    };
    exportTimer = setTimeout(tick, EXPORT_POLL_EVERY);
  }

  const exportBtn = button("account.export", {
    class: "btn",
    id: "export",
    on: {
      click: () =>
        busy(exportBtn, async () => {
          clearErrors(exportBox);
          stopExportPoll();
          clearExport();
          try {
            const exp = await api("POST", "/me/exports");
            if (!exportAlive) return;
            showExport(exp, true);
            if (exp.status === "pending") pollExport(exp.id);
          } catch (err) {
            if (exportAlive) showError(exportBox, err);
          }
        }),
    },
  });
  exportBox.append(h("div", { class: "form-actions start" }, exportBtn, exportStatus), exportLink);

  // An export made earlier (e.g. opened from the "ready" mail) or still in the making.
  (async () => {
    try {
      const list = await api("GET", "/me/exports");
      if (!exportAlive || exportPolling || exportStatus.dataset.i18n || !exportError.hidden) return;
      const newest = list && Array.isArray(list.items) ? list.items[0] : null;
      if (!newest) return;
      if (newest.status === "ready") {
        const until = newest.available_until ? Date.parse(newest.available_until) : NaN;
        if (newest.url && !(until <= Date.now())) showExport(newest, false);
      } else if (newest.status === "pending") {
        showExport(newest, true);
        pollExport(newest.id);
      } else if (newest.status === "failed") {
        showExport(newest, false);
      }
    } catch {
      // Without the list the button still works.
    }
  })();
  const data = h(
    "section",
    { class: "card" },
    h("h2", { t: "account.data" }),
    h("p", { t: "account.dataText" }),
    exportBox,
    h(
      "ul",
      { class: "privacy-list" },
      ["privacy.collect", "privacy.cards", "privacy.logs", "privacy.ai", "privacy.public", "privacy.storage"].map((k) => h("li", { t: k })),
    ),
  );

  const del = h(
    "form",
    { class: "card form danger-zone", id: "delete-form", novalidate: true },
    h("h2", { t: "account.delete" }),
    h("p", { t: "account.deleteText" }),
    formError(),
    field({ name: "password", label: "field.password", type: "password", autocomplete: "current-password", id: "f-delete-password" }),
    checkbox({ name: "confirm_delete", label: "account.deleteConfirm" }),
    h("button", { type: "submit", class: "btn btn-danger", id: "delete-account", t: "account.deleteButton" }),
  );
  del.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearErrors(del);
    if (!value(del, "confirm_delete")) {
      const slot = del.querySelector('[data-field="confirm_delete"] .field-error');
      setT(slot, "account.deleteConfirmNeeded");
      slot.hidden = false;
      del.elements.namedItem("confirm_delete").setAttribute("aria-invalid", "true");
      del.elements.namedItem("confirm_delete").focus();
      return;
    }
    await busy(del.querySelector("button[type=submit]"), async () => {
      try {
        await api("DELETE", "/me", { password: value(del, "password") });
        session.clear();
        state.user = null;
        go("#/bye");
      } catch (err) {
        showError(del, err, { current: "password" });
      }
    });
  });

  const developer = developerCard();

  return {
    title: "account.title",
    node: h("section", { class: "page account" }, pageHead("account.title"), h("div", { class: "account-grid" }, profile, email, password, data, developer.node, del)),
    leave: () => {
      exportAlive = false;
      stopExportPoll();
      developer.leave();
    },
  };
}

// ---------------------------------------------------------------- API docs

// GET /openapi.json is public and changes only with a deploy: one fetch per
// five minutes (the page is redrawn when its hash changes, e.g. going back).
const SPEC_TTL_MS = 5 * 60 * 1000;
let specCache = null;

async function fetchSpec() {
  if (specCache && Date.now() - specCache.at < SPEC_TTL_MS) return specCache.data;
  const data = await api("GET", "/openapi.json", undefined, { auth: false });
  if (!data || typeof data !== "object" || Array.isArray(data)) throw new ApiError(500, { error: { code: "internal" } });
  specCache = { at: Date.now(), data };
  return data;
}

/** `#/api`, open to everyone; `?op=<operationId>` opens it at that operation. */
function viewApi(params) {
  let alive = true;
  const target = (params && params.get("op")) || "";
  const body = h("div", { class: "api-docs", id: "api-docs", "data-state": "loading" });
  const node = h("section", { class: "page api-page" }, pageHead("apidocs.title", "apidocs.lead"), formError(), body);

  async function load() {
    clearErrors(node);
    body.dataset.state = "loading";
    body.replaceChildren(h("p", { class: "muted", id: "api-loading", t: "apidocs.loading" }));
    let nodes;
    try {
      const spec = await fetchSpec();
      try {
        nodes = renderApiDocs(spec, { origin: apiOrigin(), copy: copyText });
      } catch (bug) {
        // A spec this page can't draw: our fault, shown like any other.
        console.error(bug);
        throw new ApiError(500, { error: { code: "internal" } });
      }
    } catch (err) {
      if (!alive) return;
      body.dataset.state = "error";
      body.replaceChildren();
      showError(node, err);
      if (retryable(err)) {
        const retry = button("common.retry", { class: "btn", id: "api-retry" });
        retry.addEventListener("click", () => busy(retry, load));
        body.append(h("div", { class: "form-actions start" }, retry));
      }
      return;
    }
    if (!alive) return;
    body.replaceChildren(...nodes);
    body.dataset.state = "ready";
    // After the router's own scroll to the top.
    if (target) requestAnimationFrame(() => alive && jumpTo(target));
  }
  load();
  return { title: "apidocs.title", node, leave: () => (alive = false) };
}

// ---------------------------------------------------------------- router

// [path, view, name, needsAuth]: true = signed in only, false = signed out
// only, null = either (links from emails open in whichever browser).
const ROUTES = [
  [/^\/signup$/, viewSignup, "signup", false],
  [/^\/login$/, viewLogin, "login", false],
  [/^\/forgot$/, viewForgot, "forgot", null],
  [/^\/reset$/, viewReset, "reset", null],
  [/^\/verify$/, viewVerify, "verify", null],
  [/^\/unsubscribe$/, viewUnsubscribe, "unsubscribe", null],
  [/^\/bye$/, viewBye, "bye", null],
  [/^\/new$/, viewNew, "new", true],
  [/^\/videos$/, viewVideos, "videos", true],
  [/^\/videos\/([\w-]+)$/, viewJob, "videos", true],
  [/^\/credits$/, viewCredits, "credits", true],
  [/^\/account$/, viewAccount, "account", true],
  [/^\/api$/, viewApi, "api", null],
];

/**
 * The hash as a path and its query: `#/verify?token=…`. Only the path is
 * percent-decoded here; URLSearchParams decodes the query itself (so a `%26`
 * or `+` in a token survives).
 */
function parseHash() {
  const raw = location.hash.replace(/^#/, "");
  const q = raw.indexOf("?");
  const pathPart = q < 0 ? raw : raw.slice(0, q);
  let path;
  try {
    path = decodeURIComponent(pathPart);
  } catch {
    path = pathPart;
  }
  return { path: path || "/", params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
}

async function route() {
  const { path, params } = parseHash();
  if (state.view && state.view.leave) state.view.leave();
  if (Date.now() - (state.flashAt || 0) > 1500) flashBox.replaceChildren();
  state.view = null;
  let match = null;
  for (const [re, view, name, needsAuth] of ROUTES) {
    const m = path.match(re);
    if (m) {
      match = { view, name, needsAuth, args: m.slice(1) };
      break;
    }
  }
  if (!match) {
    go(session.token ? "#/new" : "#/signup");
    return;
  }
  if (match.needsAuth && !session.token) {
    go("#/login");
    return;
  }
  if (match.needsAuth === false && session.token) {
    go("#/new");
    return;
  }
  if (session.token && !state.user) {
    try {
      // Pages open to everyone just drop a dead session.
      await loadUser({ quiet: match.needsAuth !== true });
    } catch {
      // Offline or the API is down: the page shows its own errors.
    }
    if (match.needsAuth && !session.token) return;
  }
  state.page = { name: match.name, needsAuth: match.needsAuth };
  renderNav(match.name);
  const view = match.view(...match.args, params);
  state.view = view;
  state.titleKey = view.title;
  document.title = `${t(view.title)} · Glimvid`;
  main.replaceChildren(view.node);
  main.dataset.page = match.name;
  renderNotices();
  const heading = main.querySelector(".page-title");
  // Move focus to the new page's heading so screen readers announce it
  // (not on first load, where the browser's own focus is right).
  if (heading && state.routed) heading.focus({ preventScroll: true });
  state.routed = true;
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", route);
renderLangSwitch();
localize(document.body, true);
route();
