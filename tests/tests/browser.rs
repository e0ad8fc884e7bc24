//! The web app in a real browser: headless Chromium, driven through Debian's
//! chromedriver, against the in-process runner (which serves `web/` too).
//! One flow, as a shop owner would go: sign up, upload a photo, create a
//! video, watch it being made, play it, switch to Chinese, export, delete
//! the account. Along the way: no cookies, and no request leaves 127.0.0.1.
//! A second flow, as a developer would go: the API reference, then an API
//! key made on the account page, shown once, listed and revoked.
//! Screenshots of the main pages at desktop and phone sizes land in
//! `$CARGO_TARGET_DIR/screenshots` (override: `GLIMVID_SCREENSHOTS`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use glimvid_media::image::ImageFormat;
use glimvid_tests::media::photo;
use glimvid_tests::{Api, PASSWORD, harness_with, unique_email};
use serde_json::{Value, json};

/// The browser's requests all come from 127.0.0.1; give the credential
/// routes room (the flow itself makes only a handful of them).
fn options(o: &mut glimvid_runner::Options) {
    glimvid_tests::with_payments(o);
    o.env_overrides
        .insert("AUTH_RATE_LIMIT_PER_MINUTE".into(), "100".into());
}

const DESKTOP: (u32, u32) = (1280, 800);
const PHONE: (u32, u32) = (390, 844);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("glimvid-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("GLIMVID_SCREENSHOTS")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("screenshots"))
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// chromedriver on a free loopback port, in its own process group so that
/// stopping it also stops any Chromium it left behind.
struct Chromedriver {
    child: Child,
    port: u16,
    profile: PathBuf,
}

impl Chromedriver {
    fn start() -> Self {
        use std::os::unix::process::CommandExt;
        let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
        let port = free_port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "could not start {binary} ({e}): install Debian's chromium and chromium-driver (./scripts/test does)"
                )
            });
        let driver = Chromedriver {
            child,
            port,
            profile: scratch_dir("chromium"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        driver
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn browser(&self) -> Result<Client> {
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let downloads = self.profile.join("downloads");
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--no-default-browser-check",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--mute-audio",
                    "--lang=en-US",
                    "--autoplay-policy=no-user-gesture-required",
                    format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                    format!("--user-data-dir={}", self.profile.join("profile").display()),
                    // Anything but loopback fails to resolve: nothing can leave.
                    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
                ],
                "prefs": {
                    "download.default_directory": downloads.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url())
            .await
            .context("starting a Chromium session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The process group we created: chromedriver and its Chromium.
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// Runs `script` (a function body; may return a promise) until it returns true.
async fn wait_js(c: &Client, what: &str, script: &str, timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if c.execute(script, vec![]).await? == Value::Bool(true) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let page = c
                .execute("return document.getElementById('main').innerText", vec![])
                .await
                .unwrap_or_default();
            bail!("timed out waiting for {what}; the page says: {page}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_for(c: &Client, css: &str) -> Result<Element> {
    let script = format!(
        "const e = document.querySelector({}); return !!e && !e.closest('[hidden]');",
        json!(css)
    );
    wait_js(c, css, &script, Duration::from_secs(20)).await?;
    Ok(c.find(Locator::Css(css)).await?)
}

async fn text_of(c: &Client, css: &str) -> Result<String> {
    Ok(wait_for(c, css).await?.text().await?)
}

async fn fill(c: &Client, css: &str, value: &str) -> Result<()> {
    let el = wait_for(c, css).await?;
    el.clear().await?;
    el.send_keys(value).await?;
    Ok(())
}

async fn click(c: &Client, css: &str) -> Result<()> {
    wait_for(c, css).await?.click().await?;
    Ok(())
}

async fn js(c: &Client, script: &str) -> Result<Value> {
    Ok(c.execute(script, vec![]).await?)
}

/// Accepts the confirm() dialog that the last click opened, returning its text.
async fn accept_confirm(c: &Client) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match c.get_alert_text().await {
            Ok(text) => {
                c.accept_alert().await?;
                return Ok(text);
            }
            Err(err) => {
                if Instant::now() > deadline {
                    return Err(err).context("no confirm dialog opened");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn screenshots(c: &Client, dir: &Path, name: &str) -> Result<()> {
    for (size, (w, h)) in [("desktop", DESKTOP), ("phone", PHONE)] {
        c.set_window_size(w, h).await?;
        // Let layout settle and lazy images arrive.
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = c.screenshot().await?;
        std::fs::write(dir.join(format!("{name}-{size}.png")), png)?;
    }
    c.set_window_size(DESKTOP.0, DESKTOP.1).await?;
    Ok(())
}

/// Every URL the page has fetched so far, the page itself included.
async fn requested_urls(c: &Client) -> Result<Vec<String>> {
    let v = js(
        c,
        "return performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource')).map(e => e.name)",
    )
    .await?;
    Ok(serde_json::from_value(v)?)
}

async fn assert_no_cookies(c: &Client) -> Result<()> {
    let cookie = js(c, "return document.cookie").await?;
    ensure!(cookie == json!(""), "document.cookie is {cookie}");
    let jar = c.get_all_cookies().await?;
    ensure!(jar.is_empty(), "the browser holds cookies: {jar:?}");
    Ok(())
}

/// Publishes a policy version through the operator's path (Lambda Invoke,
/// as scripts/publish-policy does locally).
async fn publish_policy(base: &str) -> Result<String> {
    let version = format!("v{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let effective =
        glimvid::clock::rfc3339(glimvid::clock::now() + Duration::from_secs(14 * 86_400));
    let resp = reqwest::Client::new()
        .post(format!(
            "{base}/2015-03-31/functions/PolicyPublishFunction/invocations"
        ))
        .json(&json!({"version": version, "effective_at": effective,
            "summary": {"en": "Invoices are now kept for seven years.", "zh": "发票现保存七年。"}}))
        .send()
        .await?;
    ensure!(
        !resp.headers().contains_key("x-amz-function-error"),
        "publish refused: {}",
        resp.text().await?
    );
    Ok(version)
}

async fn flow(c: &Client, base: &str, shots: &Path, photo_path: &Path) -> Result<()> {
    let policy = publish_policy(base).await?;
    c.goto(&format!("{base}/")).await?;
    // Keep every resource entry of this (single-page) visit for the final check.
    js(
        c,
        "performance.setResourceTimingBufferSize(100000); return true",
    )
    .await?;

    // ---- sign up: the 16+ confirmation is required, and its error shows beside it
    wait_for(c, "#signup-form").await?;
    screenshots(c, shots, "01-signup").await?;
    fill(c, "#f-name", "Mei").await?;
    let email = unique_email();
    fill(c, "#f-email", &email).await?;
    fill(c, "#f-password", PASSWORD).await?;
    click(c, "#signup-submit").await?;
    let age_error = text_of(c, "[data-field=confirm_age_16] .field-error").await?;
    ensure!(age_error.contains("16"), "age error: {age_error}");
    ensure!(
        js(
            c,
            "return document.getElementById('f-confirm_age_16').getAttribute('aria-invalid')"
        )
        .await?
            == json!("true"),
        "the age checkbox is not marked invalid"
    );
    click(c, "label[for=f-confirm_age_16]").await?;
    click(c, "#signup-submit").await?;
    wait_for(c, "#new-form").await?;
    let token = js(c, "return localStorage.getItem('glimvid.token')").await?;
    ensure!(
        token.as_str().is_some_and(|t| t.len() > 20),
        "no token in localStorage: {token}"
    );
    assert_no_cookies(c).await?;

    // ---- the policy banner, until acknowledged
    let banner = wait_for(c, "#policy-banner").await?;
    ensure!(
        banner.attr("data-version").await?.as_deref() == Some(policy.as_str()),
        "the banner shows another version"
    );
    ensure!(
        banner.text().await?.contains("seven years"),
        "the banner has no summary"
    );
    click(c, "#policy-ack").await?;
    wait_js(
        c,
        "the banner to go",
        "return !document.getElementById('policy-banner')",
        Duration::from_secs(10),
    )
    .await?;

    // ---- verify the address from the mailed link: the free credit arrives
    wait_for(c, "#verify-notice").await?;
    screenshots(c, shots, "01b-unverified").await?;
    let link = glimvid_tests::mail::wait_for_link(&email, "#/verify?token=").await;
    c.goto(&format!("{base}/#/verify?token={link}")).await?;
    wait_js(
        c,
        "the address to be verified",
        "const r = document.getElementById('verify-result'); return !!r && r.dataset.state === 'ok'",
        Duration::from_secs(15),
    )
    .await?;
    screenshots(c, shots, "01c-verified").await?;
    c.goto(&format!("{base}/#/new")).await?;
    wait_for(c, "#new-form").await?;
    ensure!(
        js(
            c,
            "return !document.getElementById('verify-notice') && !document.getElementById('policy-banner')"
        )
        .await?
            == json!(true),
        "the verify notice or the policy banner came back"
    );

    // ---- new video: a real JPEG through the file input, straight to storage
    let input = c.find(Locator::Css("#f-photo")).await?;
    input
        .send_keys(&photo_path.display().to_string())
        .await
        .context("choosing the photo")?;
    wait_for(c, "#drop.has-file").await?;
    fill(c, "#f-title", "Hand-poured soy candle").await?;
    fill(
        c,
        "#f-description",
        "Lavender and cedar, burns for 40 hours, poured by hand in small batches.",
    )
    .await?;
    click(c, "label[for=f-aspect_ratio-169]").await?;
    js(
        c,
        "document.getElementById('f-music').value = 'calm'; return true",
    )
    .await?;
    fill(c, "#f-display_price", "$24").await?;
    fill(c, "#f-url", "shop.example.com/candle").await?;
    screenshots(c, shots, "02-new-video").await?;
    click(c, "#create-video").await?;

    // ---- the job page: live progress, then the script, the image, the video
    wait_js(
        c,
        "the job page",
        "return location.hash.startsWith('#/videos/') && !!document.querySelector('section.job')",
        Duration::from_secs(60),
    )
    .await?;
    let mut seen_percents = Vec::new();
    let mut mid_shot = false;
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = js(
            c,
            "const s = document.querySelector('section.job'); return s && s.dataset.status || ''",
        )
        .await?;
        let percent = js(c, "const p = document.getElementById('job-progress'); return p ? Number(p.getAttribute('aria-valuenow')) : -1").await?;
        seen_percents.push(percent.as_i64().unwrap_or(-1));
        match status.as_str().unwrap_or_default() {
            "succeeded" => break,
            "failed" | "cancelled" => {
                bail!(
                    "the job ended {status}: {}",
                    text_of(c, "#job-error").await?
                )
            }
            _ => {}
        }
        if !mid_shot && status == json!("running") {
            screenshots(c, shots, "03-job-progress").await?;
            mid_shot = true;
        }
        ensure!(
            Instant::now() < deadline,
            "the job did not finish; percents seen {seen_percents:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    ensure!(
        js(
            c,
            "return document.getElementById('job-progress').getAttribute('aria-valuenow')"
        )
        .await?
            == json!("100"),
        "a finished job shows 100%"
    );
    let script = text_of(c, "#script").await?;
    ensure!(script.len() > 20, "script: {script}");
    wait_js(
        c,
        "the enhanced image",
        "const i = document.querySelector('#enhanced img'); return !!i && i.complete && i.naturalWidth > 0",
        Duration::from_secs(20),
    )
    .await?;

    // ---- play it: the <video> loads the MP4 and has a duration
    let played = c
        .execute(
            "return (async () => {
             const v = document.getElementById('player');
             if (v.readyState < 1) {
               await new Promise((ok, fail) => {
                 v.addEventListener('loadedmetadata', ok, { once: true });
                 v.addEventListener('error', () => fail(new Error('video error ' + (v.error && v.error.code))), { once: true });
               });
             }
             v.muted = true;
             await v.play();
             await new Promise(r => setTimeout(r, 800));
             v.pause();
             return { duration: v.duration, time: v.currentTime, width: v.videoWidth };
             })();",
            vec![],
        )
        .await
        .context("playing the video")?;
    let duration = played["duration"].as_f64().unwrap_or_default();
    ensure!(duration > 0.0, "the video has no duration: {played}");
    ensure!(
        played["time"].as_f64().unwrap_or_default() > 0.0,
        "the video did not play: {played}"
    );
    let link = js(c, "return document.getElementById('public-link').value").await?;
    ensure!(
        link.as_str()
            .is_some_and(|l| l.starts_with(base) && l.contains("/v/")),
        "public link {link}"
    );
    // The public link plays with sound, straight from its first bytes
    // (moov before mdat), the way a phone opening a shared link plays it.
    let link = link.as_str().unwrap_or_default().to_owned();
    let heard = c
        .execute(
            "return (async (link) => {
             const v = document.createElement('video');
             v.muted = true;
             v.src = link;
             document.body.appendChild(v);
             await v.play();
             await new Promise(r => setTimeout(r, 1500));
             v.pause();
             const heard = { audio: v.webkitAudioDecodedByteCount, video: v.webkitVideoDecodedByteCount, time: v.currentTime };
             v.remove();
             return heard;
             })(arguments[0]);",
            vec![json!(link)],
        )
        .await
        .context("playing the public link")?;
    ensure!(
        heard["audio"].as_u64().unwrap_or_default() > 0
            && heard["video"].as_u64().unwrap_or_default() > 0,
        "the public link played without sound: {heard}"
    );
    let bytes = reqwest::get(&link).await?.bytes().await?;
    ensure!(
        glimvid_tests::media::top_level_boxes(&bytes) == ["ftyp", "moov", "mdat"],
        "the public video is not fast-start: {:?}",
        glimvid_tests::media::top_level_boxes(&bytes)
    );
    // The button saves the file: its link asks storage for an attachment.
    let download = js(c, "return document.querySelector('#download').href").await?;
    ensure!(
        download
            .as_str()
            .is_some_and(|h| h.contains("response-content-disposition=attachment")),
        "the download link would play, not save: {download}"
    );
    js(c, "window.scrollTo(0, 0); return true").await?;
    screenshots(c, shots, "04-job-done").await?;

    // ---- my videos
    click(c, "a.nav-link[href='#/videos']").await?;
    wait_for(c, "#video-list .video-card-item").await?;
    let cards = js(
        c,
        "return document.querySelectorAll('#video-list .video-card-item').length",
    )
    .await?;
    ensure!(cards == json!(1), "{cards} videos listed");
    screenshots(c, shots, "05-my-videos").await?;

    // ---- credits: buy a pack, then a plan, through Stripe's hosted pages
    // (the sandbox), and cancel the plan in its portal
    click(c, "a.nav-link[href='#/credits']").await?;
    wait_for(c, ".balance-card").await?;
    wait_for(c, "button[data-pack='starter']").await?;
    let before: i64 = text_of(c, "#balance").await?.parse()?;
    screenshots(c, shots, "06-credits").await?;
    click(c, "button[data-pack='starter']").await?;
    wait_for(c, "#pay").await?;
    ensure!(
        text_of(c, "#amount").await? == "USD 4.99",
        "the pack's price at checkout"
    );
    click(c, "#pay").await?;
    wait_for(c, "#checkout-result[data-state='done']").await?;
    ensure!(
        text_of(c, "#balance").await?.parse::<i64>()? == before + 5,
        "5 credits after paying for the starter pack"
    );
    wait_for(c, "#invoices tr[data-invoice] a.invoice-link").await?;
    screenshots(c, shots, "06-credits-paid").await?;
    click(c, "button[data-plan='monthly-20']").await?;
    wait_for(c, "#pay").await?;
    ensure!(
        text_of(c, "#amount").await?.ends_with("/ month"),
        "a monthly price"
    );
    click(c, "#pay").await?;
    wait_for(c, "#checkout-result[data-state='done']").await?;
    wait_for(c, "#subscription-status[data-status='active']").await?;
    ensure!(
        text_of(c, "#balance").await?.parse::<i64>()? == before + 25,
        "the plan's first month"
    );
    ensure!(
        js(
            c,
            "return document.querySelector(\"button[data-plan='monthly-60']\").disabled"
        )
        .await?
            == json!(true),
        "one plan at a time"
    );
    click(c, "#manage-billing").await?;
    click(c, "button.cancel-plan").await?;
    wait_for(c, "#subscription-period").await?;
    wait_js(
        c,
        "the plan to end at its period's end",
        "const e = document.getElementById('subscription-period'); return !!e && e.textContent.startsWith('Ends on')",
        Duration::from_secs(20),
    )
    .await?;
    screenshots(c, shots, "06-credits-plan").await?;

    // ---- two photos put in order, 15 s, two variants compared side by side
    c.goto(&format!("{base}/#/new")).await?;
    wait_for(c, "#new-form").await?;
    let lid = photo_path.with_file_name("candle-lid.jpg");
    std::fs::write(
        &lid,
        glimvid_tests::media::photo_of_side(1, ImageFormat::Jpeg),
    )?;
    c.find(Locator::Css("#f-photo"))
        .await?
        .send_keys(&format!("{}\n{}", photo_path.display(), lid.display()))
        .await
        .context("choosing two photos")?;
    wait_js(
        c,
        "two photos listed",
        "return document.querySelectorAll('#photo-list li').length === 2",
        Duration::from_secs(10),
    )
    .await?;
    click(c, "#photo-list li:first-child [data-action=later]").await?;
    ensure!(
        text_of(c, "#photo-list li:first-child .photo-name")
            .await?
            .starts_with("candle-lid.jpg"),
        "moving the first photo later did not reorder them"
    );
    fill(c, "#f-title", "Hand-poured soy candle").await?;
    fill(
        c,
        "#f-description",
        "Lavender and cedar, in a glass jar with a wooden lid.",
    )
    .await?;
    click(c, "label[for=f-duration_s-15]").await?;
    js(
        c,
        "document.getElementById('f-variants').value = '2'; return true",
    )
    .await?;
    screenshots(c, shots, "06b-new-variants").await?;
    click(c, "#create-video").await?;
    wait_js(
        c,
        "both variants side by side",
        "const job = document.querySelector('section.job');
         if (job && job.dataset.status === 'failed') throw new Error('the variant failed');
         return !!job && job.dataset.status === 'succeeded'
           && document.querySelectorAll('#variants .variant-item').length === 2
           && document.querySelectorAll('#variants video').length === 2
           && document.querySelectorAll('#variants .variant-hook').length === 2",
        Duration::from_secs(300),
    )
    .await?;
    js(
        c,
        "document.getElementById('variants').scrollIntoView(); return true",
    )
    .await?;
    screenshots(c, shots, "06c-variants").await?;
    click(c, "a.nav-link[href='#/videos']").await?;
    wait_js(
        c,
        "the variants grouped in my videos",
        "return document.querySelectorAll('#video-list .video-group .video-card-item').length === 2",
        Duration::from_secs(10),
    )
    .await?;
    screenshots(c, shots, "06d-my-videos-grouped").await?;

    // ---- account, then Chinese without a reload
    click(c, "a.nav-link[href='#/account']").await?;
    wait_for(c, "#profile-form").await?;
    screenshots(c, shots, "07-account").await?;
    js(c, "window.__sameDocument = true; return true").await?;
    ensure!(
        text_of(c, "h1.page-title").await? == "Account",
        "English heading"
    );
    click(c, "#lang-switch").await?;
    wait_js(
        c,
        "the Chinese page",
        "return document.querySelector('h1.page-title').textContent === '账户'",
        Duration::from_secs(5),
    )
    .await?;
    ensure!(
        js(c, "return window.__sameDocument === true").await? == json!(true),
        "switching language reloaded the page"
    );
    ensure!(
        text_of(c, "a.nav-link[href='#/videos']").await? == "我的视频",
        "nav in Chinese"
    );
    ensure!(
        js(
            c,
            "return [document.documentElement.lang, localStorage.getItem('glimvid.lang')]"
        )
        .await?
            == json!(["zh-CN", "zh"]),
        "language kept in localStorage"
    );
    screenshots(c, shots, "08-account-zh").await?;

    // ---- export my data
    click(c, "#export").await?;
    wait_js(
        c,
        "the export to finish",
        "const s = document.getElementById('export-status'); const e = document.querySelector('#export').closest('.form').querySelector('.form-error');
         if (e && !e.hidden) throw new Error('export failed: ' + e.textContent);
         return s.dataset.done === 'true'",
        Duration::from_secs(30),
    )
    .await?;
    ensure!(
        text_of(c, "#export-status").await?.contains("完成"),
        "export message"
    );
    // The worker wrote the file; the page links to it (a short-lived link
    // to the user's own exports prefix).
    let link = c
        .execute(
            "const a = document.getElementById('export-download'); return a ? a.href : null",
            vec![],
        )
        .await?;
    let link = link.as_str().unwrap_or_default().to_owned();
    ensure!(
        link.starts_with("http://127.0.0.1") && link.contains("/exports/"),
        "export link: {link}"
    );

    // ---- forgot the password: the mailed link sets a new one, and every
    // session (this browser's too) ends
    const NEW_PASSWORD: &str = "a fresh passphrase for Mei";
    c.goto(&format!("{base}/#/forgot")).await?;
    wait_for(c, "#forgot-form").await?;
    fill(c, "#forgot-form #f-email", &email).await?;
    click(c, "#forgot-form button[type=submit]").await?;
    wait_for(c, "#forgot-result:not([hidden])").await?;
    screenshots(c, shots, "08b-forgot-zh").await?;
    let link = glimvid_tests::mail::wait_for_link(&email, "#/reset?token=").await;
    c.goto(&format!("{base}/#/reset?token={link}")).await?;
    wait_for(c, "#reset-form").await?;
    fill(c, "#reset-form #f-password", NEW_PASSWORD).await?;
    fill(c, "#reset-form #f-confirm", NEW_PASSWORD).await?;
    click(c, "#reset-form button[type=submit]").await?;
    wait_for(c, "#login-form").await?;
    ensure!(
        js(c, "return localStorage.getItem('glimvid.token')").await? == Value::Null,
        "the reset left this browser signed in"
    );
    fill(c, "#login-form #f-email", &email).await?;
    fill(c, "#login-form #f-password", NEW_PASSWORD).await?;
    click(c, "#login-form button[type=submit]").await?;
    wait_js(
        c,
        "signing in with the new password",
        "return !!localStorage.getItem('glimvid.token') && !document.getElementById('login-form')",
        Duration::from_secs(15),
    )
    .await?;
    c.goto(&format!("{base}/#/account")).await?;
    wait_for(c, "#delete-form").await?;

    // ---- delete the account, after confirming
    fill(c, "#f-delete-password", NEW_PASSWORD).await?;
    click(c, "label[for=f-confirm_delete]").await?;
    click(c, "#delete-account").await?;
    wait_for(c, "#bye").await?;
    ensure!(
        js(c, "return localStorage.getItem('glimvid.token')").await? == Value::Null,
        "the token outlived the account"
    );
    screenshots(c, shots, "09-goodbye-zh").await?;

    // ---- privacy: no cookies, and nothing left 127.0.0.1
    assert_no_cookies(c).await?;
    let urls = requested_urls(c).await?;
    ensure!(urls.len() > 10, "too few requests recorded: {urls:?}");
    let outside: Vec<_> = urls
        .iter()
        .filter(|u| {
            !(u.starts_with("http://127.0.0.1:")
                || u.starts_with("blob:")
                || u.starts_with("data:"))
        })
        .collect();
    ensure!(outside.is_empty(), "requests left 127.0.0.1: {outside:?}");
    Ok(())
}

/// The developer pages, signed in as `email`: the API reference drawn from
/// the spec, then an API key created, listed, revoked.
async fn developer_flow(c: &Client, base: &str, shots: &Path, email: &str) -> Result<()> {
    // ---- sign in; the reference is in the nav signed out too
    c.goto(&format!("{base}/#/login")).await?;
    wait_for(c, "#login-form").await?;
    wait_for(c, "a.nav-link[href='#/api']").await?;
    fill(c, "#login-form #f-email", email).await?;
    fill(c, "#login-form #f-password", PASSWORD).await?;
    click(c, "#login-form button[type=submit]").await?;
    wait_js(
        c,
        "signing in",
        "return !!localStorage.getItem('glimvid.token') && !document.getElementById('login-form')",
        Duration::from_secs(15),
    )
    .await?;

    // ---- the API reference: videos-create with its curl example
    click(c, "a.nav-link[href='#/api']").await?;
    wait_for(c, "#api-docs[data-state='ready']").await?;
    let curl = text_of(c, "#videos-create pre.curl").await?;
    ensure!(
        curl.contains("/videos") && curl.contains("Authorization: Bearer"),
        "the curl example for videos-create: {curl}"
    );
    screenshots(c, shots, "10-api-docs").await?;

    // ---- an API key: shown once, starting glv_, listed by its prefix
    click(c, "a.nav-link[href='#/account']").await?;
    wait_for(c, "#api-key-list[data-state='ready']").await?;
    fill(c, "#f-api-key-name", "ci").await?;
    click(c, "#create-api-key").await?;
    wait_for(c, "#new-api-key-value").await?;
    let key = js(
        c,
        "return document.getElementById('new-api-key-value').value",
    )
    .await?;
    let key = key.as_str().unwrap_or_default().to_owned();
    ensure!(key.starts_with("glv_"), "the new key: {key:?}");
    let id = js(
        c,
        "return document.getElementById('new-api-key').dataset.keyId",
    )
    .await?;
    let id = id.as_str().unwrap_or_default().to_owned();
    ensure!(!id.is_empty(), "the new key has no id");
    let row = format!("#api-key-list li[data-key-id={}]", json!(id));
    js(
        c,
        "document.getElementById('developer').scrollIntoView(); return true",
    )
    .await?;
    screenshots(c, shots, "11-api-key").await?;
    // The list as the server has it after a reload, and the key itself gone.
    c.refresh().await?;
    wait_for(c, "#api-key-list[data-state='ready']").await?;
    let prefix = text_of(c, &format!("{row} .key-prefix")).await?;
    let prefix = prefix.trim().trim_end_matches('…').to_owned();
    ensure!(
        !prefix.is_empty() && key.contains(prefix.as_str()),
        "the list shows {prefix:?} for the key {key:?}"
    );
    ensure!(
        text_of(c, &format!("{row} .key-name")).await? == "ci",
        "the key's name in the list"
    );
    ensure!(
        c.execute(
            "return !document.getElementById('new-api-key') && !document.body.innerText.includes(arguments[0])",
            vec![json!(key)],
        )
        .await?
            == json!(true),
        "the key is shown again after a reload"
    );

    // ---- revoke it, after confirming: it leaves the list, for good
    click(c, &format!("{row} button[data-action='revoke']")).await?;
    let question = accept_confirm(c).await?;
    ensure!(question.contains("ci"), "the confirm dialog: {question}");
    wait_js(
        c,
        "the revoked key to leave the list",
        &format!("return !document.querySelector({})", json!(row)),
        Duration::from_secs(10),
    )
    .await?;
    c.refresh().await?;
    wait_for(c, "#api-key-list[data-state='ready']").await?;
    ensure!(
        c.execute(
            "return !document.querySelector(arguments[0]) && !document.getElementById('api-key-list').textContent.includes(arguments[1])",
            vec![json!(row), json!(prefix)],
        )
        .await?
            == json!(true),
        "the revoked key is still listed"
    );

    // ---- a webhook: a private address refused with the server's reason,
    // a public one registered with its secret shown once, its (empty)
    // deliveries, deleted after confirming
    fill(c, "#f-webhook-url", "https://10.0.0.7/hook").await?;
    click(c, "#create-webhook").await?;
    wait_js(
        c,
        "the private address to be refused",
        "return document.getElementById('developer').innerText.includes('link-local')",
        Duration::from_secs(10),
    )
    .await?;
    ensure!(
        c.execute(
            "return !document.getElementById('new-webhook-secret')",
            vec![]
        )
        .await?
            == json!(true),
        "a refused URL showed a secret"
    );
    fill(c, "#f-webhook-url", "https://93.184.216.34/glimvid-events").await?;
    click(c, "#create-webhook").await?;
    wait_for(c, "#new-webhook-secret-value").await?;
    let secret = js(
        c,
        "return document.getElementById('new-webhook-secret-value').value",
    )
    .await?;
    ensure!(
        secret.as_str().is_some_and(|s| s.starts_with("whsec_")),
        "the new webhook's secret: {secret}"
    );
    let hook = js(
        c,
        "return document.getElementById('new-webhook-secret').dataset.webhookId",
    )
    .await?;
    let hook_row = format!("#webhook-list li[data-webhook-id={hook}]");
    click(c, &format!("{hook_row} button[data-action='deliveries']")).await?;
    wait_js(
        c,
        "the deliveries panel",
        &format!(
            "return !!document.querySelector({} + ' [data-state=ready] .deliveries-empty')",
            json!(hook_row)
        ),
        Duration::from_secs(10),
    )
    .await?;
    click(c, &format!("{hook_row} button[data-action='delete']")).await?;
    accept_confirm(c).await?;
    wait_js(
        c,
        "the deleted webhook to leave the list",
        &format!("return !document.querySelector({})", json!(hook_row)),
        Duration::from_secs(10),
    )
    .await?;
    ensure!(
        Api::new()
            .with_token(&session_token(c).await?)
            .get("/me/webhooks")
            .await
            .body["items"]
            == json!([]),
        "the webhook is still registered"
    );
    Ok(())
}

async fn session_token(c: &Client) -> Result<String> {
    let token = js(c, "return localStorage.getItem('glimvid.token')").await?;
    Ok(token.as_str().unwrap_or_default().to_owned())
}

/// Whether storage answers the CORS preflight a browser sends before PUTting
/// to a presigned URL, as S3 does (preflights carry no credentials). The
/// emulator alone refuses it under signature and IAM checks; the runner's
/// S3 front answers it from the bucket's CORS rules.
async fn storage_answers_preflight(base: &str) -> bool {
    let (me, _) = Api::new().signed_up().await;
    let ticket = me
        .post(
            "/uploads",
            json!({"content_type": "image/jpeg", "size_bytes": 1000}),
        )
        .await;
    let Some(url) = ticket.body["url"].as_str() else {
        panic!("no upload ticket: {}", ticket.body);
    };
    let preflight = reqwest::Client::new()
        .request(reqwest::Method::OPTIONS, url)
        .header("origin", base)
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .expect("preflight to storage");
    preflight.status().is_success()
        && preflight
            .headers()
            .contains_key("access-control-allow-origin")
}

#[tokio::test]
async fn shop_owner_flow_in_a_real_browser() {
    let base = harness_with(options).base_url.clone();
    glimvid_tests::stripe().deliver_to(
        &format!("{base}/billing/webhook"),
        glimvid_tests::WEBHOOK_SECRET,
    );
    let shots = screenshot_dir();
    let work = scratch_dir("browser");
    let photo_path = work.join("candle.jpg");
    std::fs::write(&photo_path, photo(1200, 900, ImageFormat::Jpeg)).expect("write photo");

    let driver = Chromedriver::start();
    // Web security stays on: the upload is a real cross-origin PUT whose
    // preflight storage must answer, as S3 does on AWS.
    assert!(
        storage_answers_preflight(&base).await,
        "storage must answer the browser's CORS preflight for a presigned PUT"
    );
    let client = driver.browser().await.expect("a browser session");
    let result = flow(&client, &base, &shots, &photo_path).await;
    if result.is_err() {
        let _ = client
            .screenshot()
            .await
            .map(|png| std::fs::write(shots.join("failure.png"), png));
    }
    let _ = client.close().await;
    drop(driver);
    let _ = std::fs::remove_dir_all(&work);
    if let Err(err) = result {
        panic!("{err:#}");
    }
    eprintln!("screenshots in {}", shots.display());
}

#[tokio::test]
async fn developer_pages_in_a_real_browser() {
    let base = harness_with(options).base_url.clone();
    let shots = screenshot_dir();
    // Made and confirmed through the API from an address of its own: the
    // browser's address keeps its free trial for the shop owner's flow.
    let (_, email) = Api::new().signed_up().await;
    let driver = Chromedriver::start();
    let client = driver.browser().await.expect("a browser session");
    let result = developer_flow(&client, &base, &shots, &email).await;
    if result.is_err() {
        let _ = client
            .screenshot()
            .await
            .map(|png| std::fs::write(shots.join("failure-developer.png"), png));
    }
    let _ = client.close().await;
    drop(driver);
    if let Err(err) = result {
        panic!("{err:#}");
    }
}
