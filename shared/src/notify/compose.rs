//! The words of every email, in English and Chinese, as text and as HTML.
//! The HTML has no images, scripts or remote content: nothing in a message
//! tells anyone when it was opened.

use crate::accounts::Language;
use crate::mail::Letter;

/// A message before it is addressed.
pub struct Draft {
    pub subject: String,
    pub paragraphs: Vec<String>,
    /// The button: label and URL.
    pub action: Option<(String, String)>,
    /// Why the reader got this (and, for optional mail, how to stop it).
    pub footer: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl Draft {
    pub fn letter(self, to: &str, language: Language, unsubscribe: Option<String>) -> Letter {
        let mut text = String::new();
        for p in &self.paragraphs {
            text.push_str(p);
            text.push_str("\n\n");
        }
        if let Some((label, url)) = &self.action {
            text.push_str(&format!("{label}:\n{url}\n\n"));
        }
        text.push_str("-- \n");
        text.push_str(&self.footer);
        text.push('\n');

        let mut html = format!(
            "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title></head>\
             <body style=\"margin:0;padding:24px;background:#f4f4f7;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,'PingFang SC','Microsoft YaHei',sans-serif;color:#1d1d27;line-height:1.5\">\
             <div style=\"max-width:520px;margin:0 auto;background:#ffffff;border-radius:12px;padding:28px\">\
             <p style=\"font-size:20px;font-weight:700;margin:0 0 20px;color:#5b3df5\">Glimvid</p>",
            language.as_str(),
            escape(&self.subject)
        );
        for p in &self.paragraphs {
            html.push_str(&format!("<p style=\"margin:0 0 14px\">{}</p>", escape(p)));
        }
        if let Some((label, url)) = &self.action {
            html.push_str(&format!(
                "<p style=\"margin:22px 0\"><a href=\"{0}\" style=\"display:inline-block;background:#5b3df5;color:#ffffff;text-decoration:none;padding:12px 22px;border-radius:8px;font-weight:600\">{1}</a></p>\
                 <p style=\"margin:0 0 14px;font-size:13px;color:#555;word-break:break-all\">{0}</p>",
                escape(url),
                escape(label)
            ));
        }
        html.push_str(&format!(
            "<p style=\"margin:24px 0 0;font-size:12px;color:#777\">{}</p></div></body></html>",
            escape(&self.footer)
        ));
        Letter {
            to: to.to_owned(),
            subject: self.subject,
            text,
            html,
            unsubscribe,
        }
    }
}

fn pick(language: Language, en: &str, zh: &str) -> String {
    match language {
        Language::En => en.to_owned(),
        Language::Zh => zh.to_owned(),
    }
}

fn security_footer(l: Language) -> String {
    pick(
        l,
        "You get this because it concerns the security of your Glimvid account; it can't be turned off.",
        "此邮件与你的 Glimvid 账户安全有关，无法退订。",
    )
}

/// `ada@example.com` → `a**@example.com`: enough for the owner to know it.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}**@{domain}")
        }
        None => "***".to_owned(),
    }
}

pub fn verify(l: Language, url: &str) -> Draft {
    Draft {
        subject: pick(l, "Confirm your email address", "请确认你的邮箱地址"),
        paragraphs: vec![
            pick(
                l,
                "Welcome to Glimvid! Confirm this address to finish setting up your account. Your free video credit is added as soon as you do.",
                "欢迎使用 Glimvid！请确认此邮箱地址以完成账户设置。确认后，免费视频额度会立即到账。",
            ),
            pick(
                l,
                "The link works once and expires in 48 hours. If you didn't sign up, ignore this email.",
                "链接只能使用一次，48 小时后失效。如果你没有注册，请忽略此邮件。",
            ),
        ],
        action: Some((pick(l, "Confirm my address", "确认邮箱"), url.to_owned())),
        footer: security_footer(l),
    }
}

pub fn confirm_new(l: Language, url: &str) -> Draft {
    Draft {
        subject: pick(l, "Confirm your new email address", "请确认你的新邮箱地址"),
        paragraphs: vec![
            pick(
                l,
                "You asked to use this address for your Glimvid account. It takes effect when you confirm it.",
                "你申请将此地址用作 Glimvid 账户邮箱。确认后才会生效。",
            ),
            pick(
                l,
                "The link works once and expires in 24 hours. If you didn't ask for this, ignore this email.",
                "链接只能使用一次，24 小时后失效。如果不是你本人操作，请忽略此邮件。",
            ),
        ],
        action: Some((pick(l, "Confirm new address", "确认新邮箱"), url.to_owned())),
        footer: security_footer(l),
    }
}

pub fn change_requested(l: Language, new_masked: &str, web: &str) -> Draft {
    Draft {
        subject: pick(
            l,
            "Your Glimvid email address is being changed",
            "你的 Glimvid 邮箱地址正在变更",
        ),
        paragraphs: vec![
            match l {
                Language::En => format!(
                    "Someone signed in to your account asked to change its email address to {new_masked}. The change happens only when that address is confirmed."
                ),
                Language::Zh => format!(
                    "有人登录你的账户并申请将邮箱改为 {new_masked}。该地址确认后变更才会生效。"
                ),
            },
            pick(
                l,
                "If this wasn't you, reset your password now: that signs out every session and stops the change.",
                "如果不是你本人操作，请立即重置密码：这会退出所有会话并阻止变更。",
            ),
        ],
        action: Some((
            pick(l, "Reset my password", "重置密码"),
            format!("{web}/#/forgot"),
        )),
        footer: security_footer(l),
    }
}

pub fn reset(l: Language, url: &str) -> Draft {
    Draft {
        subject: pick(l, "Reset your Glimvid password", "重置你的 Glimvid 密码"),
        paragraphs: vec![
            pick(
                l,
                "Someone asked to reset the password of your Glimvid account. Choose a new one with the button below.",
                "有人申请重置你的 Glimvid 账户密码。请点击下方按钮设置新密码。",
            ),
            pick(
                l,
                "The link works once and expires in 30 minutes. If you didn't ask, ignore this email: your password stays as it is.",
                "链接只能使用一次，30 分钟后失效。如果不是你本人操作，请忽略此邮件，密码不会改变。",
            ),
        ],
        action: Some((
            pick(l, "Choose a new password", "设置新密码"),
            url.to_owned(),
        )),
        footer: security_footer(l),
    }
}

pub fn password_changed(l: Language, by_reset: bool, web: &str) -> Draft {
    let how = match (l, by_reset) {
        (Language::En, true) => {
            "The password of your Glimvid account was reset with an emailed link, and every session was signed out."
        }
        (Language::En, false) => {
            "The password of your Glimvid account was changed, and every other session was signed out."
        }
        (Language::Zh, true) => "你的 Glimvid 账户密码已通过邮件链接重置，所有会话均已退出。",
        (Language::Zh, false) => "你的 Glimvid 账户密码已修改，其他所有会话均已退出。",
    };
    Draft {
        subject: pick(
            l,
            "Your Glimvid password was changed",
            "你的 Glimvid 密码已修改",
        ),
        paragraphs: vec![
            how.to_owned(),
            pick(
                l,
                "If this wasn't you, reset your password now and check your account.",
                "如果不是你本人操作，请立即重置密码并检查你的账户。",
            ),
        ],
        action: Some((
            pick(l, "Reset my password", "重置密码"),
            format!("{web}/#/forgot"),
        )),
        footer: security_footer(l),
    }
}

pub fn export_ready(l: Language, web: &str) -> Draft {
    Draft {
        subject: pick(
            l,
            "Your Glimvid data export is ready",
            "你的 Glimvid 数据导出已就绪",
        ),
        paragraphs: vec![pick(
            l,
            "The copy of your data you asked for is ready. Download it from your account page within 7 days; after that it is deleted.",
            "你申请的数据副本已准备好。请在 7 天内到账户页面下载，之后它会被删除。",
        )],
        action: Some((
            pick(l, "Download my data", "下载我的数据"),
            format!("{web}/#/account"),
        )),
        footer: security_footer(l),
    }
}

pub fn new_signin(l: Language, ip: &str, at: &str, web: &str) -> Draft {
    Draft {
        subject: pick(
            l,
            "New sign-in to your Glimvid account",
            "你的 Glimvid 账户有新的登录",
        ),
        paragraphs: vec![
            match l {
                Language::En => format!(
                    "Your account was signed in to at {at} (UTC) from IP address {ip}, which it hasn't used in the last 30 days."
                ),
                Language::Zh => {
                    format!(
                        "你的账户于 {at}（UTC）从 IP 地址 {ip} 登录，该地址在过去 30 天内未曾使用。"
                    )
                }
            },
            pick(
                l,
                "If this was you, there's nothing to do. If not, reset your password now: that signs out every session.",
                "如果是你本人，无需任何操作。否则请立即重置密码：这会退出所有会话。",
            ),
        ],
        action: Some((
            pick(l, "Reset my password", "重置密码"),
            format!("{web}/#/forgot"),
        )),
        footer: security_footer(l),
    }
}

pub fn deletion(l: Language, requested_at: &str) -> Draft {
    Draft {
        subject: pick(
            l,
            "Your Glimvid account is being deleted",
            "你的 Glimvid 账户正在删除",
        ),
        paragraphs: vec![
            match l {
                Language::En => format!(
                    "You asked to delete your Glimvid account at {requested_at} (UTC). Every session was signed out."
                ),
                Language::Zh => {
                    format!("你于 {requested_at}（UTC）申请删除 Glimvid 账户，所有会话均已退出。")
                }
            },
            pick(
                l,
                "Within 24 hours we delete your photos, enhanced images, scripts and videos (their public links stop working), your credit balance and its history, your usage-log lines, your sessions and your account with this address.",
                "我们会在 24 小时内删除你的照片、增强图片、脚本和视频（公开链接随之失效）、额度余额及其记录、使用日志、会话，以及使用此地址的账户。",
            ),
            pick(
                l,
                "Any monthly plan was cancelled at Stripe before this, so you will not be charged again.",
                "在此之前，你的月度套餐已在 Stripe 取消，之后不会再扣费。",
            ),
            pick(
                l,
                "What stays: the fact that a free trial was used from your IP address, and the record of each payment (date, amount, what it bought, Stripe's invoice number) that tax law makes us keep, with nothing linking either to you or to your content. Stripe keeps its own invoices. Unused credits are not refunded.",
                "保留的内容：你的 IP 地址曾使用过免费试用这一记录，以及税法要求我们保存的每笔付款记录（日期、金额、所购内容、Stripe 发票号），两者都不再与你或你的内容关联。Stripe 会保留其自身的发票。未使用的额度不予退还。",
            ),
        ],
        action: None,
        footer: security_footer(l),
    }
}

pub fn job_ready(l: Language, title: &str, url: &str, footer: String) -> Draft {
    Draft {
        subject: match l {
            Language::En => format!("Your video \"{title}\" is ready"),
            Language::Zh => format!("你的视频「{title}」已完成"),
        },
        paragraphs: vec![pick(
            l,
            "Your product video is ready to watch, download and share.",
            "你的产品视频已完成，可以观看、下载和分享。",
        )],
        action: Some((pick(l, "Watch it", "立即观看"), url.to_owned())),
        footer,
    }
}

pub fn job_failed(
    l: Language,
    title: &str,
    reason: &str,
    refunded: i64,
    url: &str,
    footer: String,
) -> Draft {
    Draft {
        subject: match l {
            Language::En => format!("Your video \"{title}\" could not be made"),
            Language::Zh => format!("你的视频「{title}」未能生成"),
        },
        paragraphs: vec![
            match l {
                Language::En => format!("What happened: {reason}"),
                Language::Zh => format!("原因：{reason}"),
            },
            match l {
                Language::En => format!(
                    "{refunded} credit{} went back to your balance. You can try again with other photos or text.",
                    if refunded == 1 { "" } else { "s" }
                ),
                Language::Zh => {
                    format!("{refunded} 个额度已退回你的余额。你可以换用其他照片或文字再试一次。")
                }
            },
        ],
        action: Some((pick(l, "See the details", "查看详情"), url.to_owned())),
        footer,
    }
}

/// The footer of optional mail: how to turn it off.
pub fn optional_footer(l: Language, unsubscribe_page: &str) -> String {
    match l {
        Language::En => format!(
            "You get video emails because they're on in your account. Turn them off: {unsubscribe_page}"
        ),
        Language::Zh => format!("你收到视频通知是因为账户中开启了此项。退订：{unsubscribe_page}"),
    }
}

pub fn policy_change(l: Language, effective_at: &str, summary: &str, web: &str) -> Draft {
    let date = effective_at.get(..10).unwrap_or(effective_at);
    Draft {
        subject: pick(
            l,
            "Our privacy policy is changing",
            "我们的隐私政策即将更新",
        ),
        paragraphs: vec![
            match l {
                Language::En => {
                    format!("On {date} a new version of Glimvid's privacy policy takes effect.")
                }
                Language::Zh => format!("Glimvid 隐私政策的新版本将于 {date} 生效。"),
            },
            summary.to_owned(),
            pick(
                l,
                "If you keep using Glimvid after that date, the new version applies. You can export or delete your data at any time from your account page.",
                "在该日期之后继续使用 Glimvid 即表示适用新版本。你可以随时在账户页面导出或删除你的数据。",
            ),
        ],
        action: Some((
            pick(l, "Open your account", "打开我的账户"),
            format!("{web}/#/account"),
        )),
        footer: pick(
            l,
            "You get this because we notify every account of policy changes by email; it can't be turned off.",
            "我们会通过邮件通知每个账户政策变更，此类邮件无法退订。",
        ),
    }
}

/// `1499, "usd"` → `USD 14.99`: no locale guesswork about symbols.
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!(
        "{} {sign}{}.{:02}",
        currency.to_ascii_uppercase(),
        cents / 100,
        cents % 100
    )
}

pub fn receipt(l: Language, payment: &crate::billing::Payment, web: &str) -> Draft {
    let amount = money(payment.amount_cents, &payment.currency);
    let credits = payment.credits;
    Draft {
        subject: pick(l, "Your Glimvid receipt", "你的 Glimvid 收据"),
        paragraphs: vec![
            match (l, payment.kind.as_str()) {
                (Language::En, "plan") => format!(
                    "Thank you: your monthly plan renewed and {credits} credits were added to your balance."
                ),
                (Language::Zh, "plan") => {
                    format!("感谢支持：你的月度套餐已续订，{credits} 个额度已加入余额。")
                }
                (Language::En, _) => {
                    format!("Thank you: {credits} credits were added to your balance.")
                }
                (Language::Zh, _) => format!("感谢支持：{credits} 个额度已加入余额。"),
            },
            match l {
                Language::En => format!(
                    "{}: {amount}, paid {} (UTC). Reference {}.",
                    payment.description,
                    payment.paid_at.replace('T', " ").trim_end_matches('Z'),
                    payment.id
                ),
                Language::Zh => format!(
                    "{}：{amount}，支付时间 {}（UTC）。参考号 {}。",
                    payment.description,
                    payment.paid_at.replace('T', " ").trim_end_matches('Z'),
                    payment.id
                ),
            },
            pick(
                l,
                "Stripe processed the payment; Glimvid never sees your card. The invoice is on your Credits page.",
                "付款由 Stripe 处理，Glimvid 不会接触你的银行卡信息。发票可在「额度」页面查看。",
            ),
        ],
        action: Some((
            pick(l, "See payments and invoices", "查看付款和发票"),
            format!("{web}/#/credits"),
        )),
        footer: pick(
            l,
            "You get this because you paid for Glimvid credits; receipts can't be turned off.",
            "你收到此邮件是因为你购买了 Glimvid 额度；收据无法退订。",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped_and_has_no_remote_content() {
        let letter = job_failed(
            Language::En,
            "<b>Mug</b>",
            "the photo & text were refused",
            1,
            "https://app.example/#/videos/1",
            "footer".into(),
        )
        .letter("ada@example.com", Language::En, None);
        assert!(letter.html.contains("&lt;b&gt;Mug&lt;/b&gt;"));
        assert!(letter.html.contains("photo &amp; text"));
        assert!(!letter.html.contains("<img") && !letter.html.contains("<script"));
        assert!(letter.text.contains("1 credit went back"));
        assert_eq!(masked("ada@example.com"), "a**@example.com");
    }
}
