// English and Chinese. The language lives in localStorage only; switching
// re-translates the page in place.

const LANG_KEY = "glimvid.lang";

const en = {
  "nav.skip": "Skip to content",
  "nav.new": "New video",
  "nav.videos": "My videos",
  "nav.credits": "Credits",
  "nav.account": "Account",
  "nav.logout": "Log out",
  "nav.login": "Log in",
  "nav.signup": "Sign up",
  "lang.switch": "Switch language to Chinese",
  "footer.privacy": "No tracking or advertising cookies. Your login and language stay in this browser.",
  "footer.age": "Glimvid is not for people under 16.",

  "common.cancel": "Cancel",
  "common.dismiss": "Dismiss",
  "common.loadMore": "Load more",
  "common.save": "Save",
  "common.saved": "Saved.",

  "hero.title": "Your product photo, now a video that sells.",
  "hero.text": "Upload one photo, say what makes it special, and Glimvid writes the script, polishes the picture and makes a short video for your shop.",
  "hero.step1": "Drop in a product photo (or just describe it)",
  "hero.step2": "Pick a shape and length for your channel",
  "hero.step3": "Watch it come together, then download or share",
  "hero.trial": "Your first 5-second video is on us.",

  "signup.title": "Create your account",
  "signup.age": "I confirm I am 16 or older",
  "signup.privacy": "We keep only what is needed to make your videos. You can export or delete everything at any time.",
  "signup.submit": "Create account",
  "signup.haveAccount": "Already have an account?",
  "login.title": "Welcome back",
  "login.submit": "Log in",
  "login.noAccount": "New to Glimvid?",
  "bye.title": "Your account is being deleted",
  "bye.text": "Your account, photos and videos are being removed. Thank you for trying Glimvid.",

  "field.name": "Your name (optional)",
  "field.email": "Email",
  "field.password": "Password",
  "field.currentPassword": "Current password",
  "field.newPassword": "New password",
  "field.title": "Product name",
  "field.description": "What makes it special?",
  "field.aspect": "Shape",
  "field.duration": "Length",
  "field.style": "Style",
  "field.videoLanguage": "Video language",
  "field.music": "Music",
  "field.displayPrice": "Price on the end card (optional)",
  "field.url": "Shop link on the end card (optional)",
  "field.language": "Language",
  "hint.password": "At least 10 characters.",
  "ph.title": "e.g. Hand-poured soy candle",
  "ph.description": "Materials, who it is for, why people love it…",
  "ph.displayPrice": "e.g. $24",
  "ph.url": "e.g. shop.example.com/candle",
  "hint.endCard": "Shown at the end of the video, exactly as you write it.",

  "new.title": "Make a new video",
  "new.lead": "A photo gives the best result, but a description alone works too.",
  "new.photo": "Product photo",
  "new.drop": "Drop a photo here or choose one",
  "new.dropHint": "JPEG, PNG or WebP, up to 10 MB",
  "new.textOnly": "No photo? Leave this empty and we will make a text-only video.",
  "new.removePhoto": "Remove photo",
  "new.uploading": "Uploading your photo",
  "new.submit": "Create video",
  "new.balance": "Credits left: {n}",
  "new.buyCredits": "Get credits",
  "aspect.vertical": "Vertical 9:16",
  "aspect.square": "Square 1:1",
  "aspect.landscape": "Landscape 16:9",
  "duration.5": "5 seconds · 1 credit",
  "duration.10": "10 seconds · 2 credits",
  "style.none": "Let Glimvid choose",
  "style.clean": "Clean and simple",
  "style.bold": "Bold and punchy",
  "style.warm": "Warm and cosy",
  "style.playful": "Playful",
  "style.luxury": "Luxury",
  "music.auto": "Match the style",
  "music.none": "No music",
  "music.upbeat": "Upbeat",
  "music.calm": "Calm",
  "music.elegant": "Elegant",
  "music.energetic": "Energetic",

  "job.title": "Your video",
  "job.back": "← All videos",
  "job.progress": "Video progress",
  "job.script": "Script",
  "job.image": "Polished photo",
  "job.imageAlt": "Your product photo after polishing",
  "job.video": "Your video",
  "job.player": "Your marketing video",
  "job.download": "Download MP4",
  "job.copyLink": "Copy public link",
  "job.copied": "Link copied.",
  "job.copyFailed": "Could not copy; select the link below instead.",
  "job.publicLink": "Anyone with this link can watch the video",
  "job.cancel": "Cancel this video",
  "job.failedAt": "Something went wrong while {stage}.",
  "job.refunded": "Your {n} credit(s) came back to your balance.",
  "step.script": "Write the script",
  "step.enhance": "Polish the photo",
  "step.video": "Make the video",
  "step.finalize": "Finish up",
  "stage.queued": "waiting in line",
  "stage.script": "writing the script",
  "stage.enhance": "polishing the photo",
  "stage.video": "making the video",
  "stage.finalize": "finishing up",
  "stage.done": "done",
  "stageNow.queued": "Waiting for a free studio…",
  "stageNow.script": "Writing your script…",
  "stageNow.enhance": "Polishing your photo…",
  "stageNow.video": "Making your video…",
  "stageNow.finalize": "Finishing up…",
  "stageNow.done": "Done!",
  "statusText.succeeded": "Your video is ready.",
  "statusText.failed": "This video could not be made.",
  "statusText.cancelled": "This video was cancelled.",
  "status.queued": "Queued",
  "status.running": "In progress",
  "status.succeeded": "Ready",
  "status.failed": "Failed",
  "status.cancelled": "Cancelled",

  "videos.title": "My videos",
  "videos.empty": "No videos yet. Your first one is a photo away.",
  "videos.delete": "Delete",
  "videos.confirmDelete": "Delete this video for good?",
  "videos.yesDelete": "Yes, delete",
  "videos.seconds": "{n} s",

  "credits.title": "Credits",
  "credits.lead": "A 5-second video costs 1 credit, a 10-second one 2. Failed videos are refunded automatically.",
  "credits.balance": "Your balance",
  "credits.prices": "Credits never expire.",
  "credits.packs": "Top up",
  "credits.packCredits": "{n} credits",
  "credits.packVideos": "Up to {n} short videos",
  "credits.buy": "Buy",
  "credits.buyUnavailable": "Buying credits is not available yet.",
  "credits.packsUnavailable": "Credit packs are not available yet.",
  "credits.cardNote": "Payments are handled by our payment provider; Glimvid never sees your card.",
  "credits.history": "History",
  "credits.when": "When",
  "credits.what": "What",
  "credits.amount": "Credits",
  "credits.noEntries": "Nothing here yet.",
  "credits.unavailable": "Your credit history is not available yet.",
  "kind.grant": "Free credits",
  "kind.debit": "Video",
  "kind.refund": "Refund",
  "kind.purchase": "Purchase",

  "account.title": "Account",
  "account.profile": "Profile",
  "account.marketing": "Send me occasional tips and offers by email",
  "account.training": "Don't use my photos to improve Glimvid's models",
  "account.trainingHint": "Your photos are only ever sent to our AI providers to make your videos.",
  "account.password": "Password",
  "account.changePassword": "Change password",
  "account.passwordChanged": "Password changed. Other devices were signed out.",
  "account.data": "Your data",
  "account.dataText": "Download everything we hold about you as a JSON file.",
  "account.export": "Export my data",
  "account.exported": "Done: your data export was downloaded.",
  "account.delete": "Delete account",
  "account.deleteText": "This deletes your account, photos, videos and credits. It cannot be undone.",
  "account.deleteConfirm": "I understand everything will be deleted",
  "account.deleteConfirmNeeded": "Please tick the box to confirm.",
  "account.deleteButton": "Delete my account",
  "privacy.collect": "We keep your email, a scrypt hash of your password, your photos and what we make from them, your IP, request times and credit balance.",
  "privacy.cards": "We never store card details; payments come from our payment provider.",
  "privacy.logs": "Usage logs are kept for at most 30 days.",
  "privacy.ai": "Photos and descriptions go to AI providers only to make your video.",
  "privacy.public": "Videos can be watched by anyone with their unguessable link; delete any of them at any time.",
  "privacy.storage": "Your login and language are kept in this browser's local storage; no tracking cookies.",

  "flash.welcome": "Welcome to Glimvid! Your first 5-second video is free.",
  "flash.loggedOut": "You have logged out.",
  "flash.sessionEnded": "Your session ended. Please log in again.",
  "flash.videoDeleted": "Video deleted.",

  "err.generic": "Something went wrong. Please try again.",
  "err.network": "Can't reach Glimvid. Check your connection and try again.",
  "err.internal": "Something went wrong on our side. Please try again.",
  "err.rate_limited": "Too many attempts. Please wait a minute and try again.",
  "err.unauthenticated": "Email or password is not right.",
  "err.email_taken": "An account with this email already exists.",
  "err.wrong_password": "That password is not right.",
  "err.insufficient_credits": "You don't have enough credits for this video.",
  "err.upload_failed": "The photo could not be uploaded. Please try again.",
  "err.not_an_image": "This file is not a photo we can use (JPEG, PNG or WebP).",
  "err.too_large": "This photo is larger than 10 MB.",
  "err.not_found": "We couldn't find that.",
  "err.http_404": "This isn't available yet.",
  "err.upload_not_ready": "The photo is not ready yet. Please upload it again.",
  "err.not_cancellable": "This video can no longer be cancelled.",
};

const zh = {
  "nav.skip": "跳到正文",
  "nav.new": "新建视频",
  "nav.videos": "我的视频",
  "nav.credits": "点数",
  "nav.account": "账户",
  "nav.logout": "退出登录",
  "nav.login": "登录",
  "nav.signup": "注册",
  "lang.switch": "切换为英文",
  "footer.privacy": "没有跟踪或广告 Cookie。登录状态和语言只保存在本浏览器中。",
  "footer.age": "Glimvid 不面向 16 岁以下用户。",

  "common.cancel": "取消",
  "common.dismiss": "关闭",
  "common.loadMore": "加载更多",
  "common.save": "保存",
  "common.saved": "已保存。",

  "hero.title": "一张商品照片，变成会卖货的视频。",
  "hero.text": "上传一张照片，说说它的亮点，Glimvid 会写好脚本、美化图片，为你的店铺做出一段短视频。",
  "hero.step1": "放入商品照片（或只写文字描述）",
  "hero.step2": "按你的渠道选择画面比例和时长",
  "hero.step3": "看着视频生成，然后下载或分享",
  "hero.trial": "第一段 5 秒视频免费。",

  "signup.title": "创建账户",
  "signup.age": "我确认已年满 16 岁",
  "signup.privacy": "我们只保留制作视频所需的信息。你可以随时导出或删除全部数据。",
  "signup.submit": "创建账户",
  "signup.haveAccount": "已有账户？",
  "login.title": "欢迎回来",
  "login.submit": "登录",
  "login.noAccount": "第一次使用 Glimvid？",
  "bye.title": "正在删除你的账户",
  "bye.text": "你的账户、照片和视频正在被删除。感谢你试用 Glimvid。",

  "field.name": "你的名字（可选）",
  "field.email": "邮箱",
  "field.password": "密码",
  "field.currentPassword": "当前密码",
  "field.newPassword": "新密码",
  "field.title": "商品名称",
  "field.description": "它有什么特别之处？",
  "field.aspect": "画面比例",
  "field.duration": "时长",
  "field.style": "风格",
  "field.videoLanguage": "视频语言",
  "field.music": "音乐",
  "field.displayPrice": "片尾显示的价格（可选）",
  "field.url": "片尾显示的店铺链接（可选）",
  "field.language": "语言",
  "hint.password": "至少 10 个字符。",
  "ph.title": "例如：手工大豆香薰蜡烛",
  "ph.description": "材质、适合谁、大家为什么喜欢它……",
  "ph.displayPrice": "例如 ¥168",
  "ph.url": "例如 shop.example.com/candle",
  "hint.endCard": "按你填写的内容显示在视频结尾。",

  "new.title": "制作新视频",
  "new.lead": "有照片效果最好，只有文字描述也可以。",
  "new.photo": "商品照片",
  "new.drop": "把照片拖到这里，或点击选择",
  "new.dropHint": "JPEG、PNG 或 WebP，最大 10 MB",
  "new.textOnly": "没有照片？留空即可，我们会制作纯文字视频。",
  "new.removePhoto": "移除照片",
  "new.uploading": "正在上传照片",
  "new.submit": "生成视频",
  "new.balance": "剩余点数：{n}",
  "new.buyCredits": "获取点数",
  "aspect.vertical": "竖屏 9:16",
  "aspect.square": "方形 1:1",
  "aspect.landscape": "横屏 16:9",
  "duration.5": "5 秒 · 1 个点数",
  "duration.10": "10 秒 · 2 个点数",
  "style.none": "由 Glimvid 决定",
  "style.clean": "简洁清爽",
  "style.bold": "醒目有力",
  "style.warm": "温暖舒适",
  "style.playful": "活泼有趣",
  "style.luxury": "高端奢华",
  "music.auto": "配合风格",
  "music.none": "不要音乐",
  "music.upbeat": "欢快",
  "music.calm": "舒缓",
  "music.elegant": "优雅",
  "music.energetic": "动感",

  "job.title": "你的视频",
  "job.back": "← 全部视频",
  "job.progress": "视频进度",
  "job.script": "脚本",
  "job.image": "美化后的照片",
  "job.imageAlt": "美化后的商品照片",
  "job.video": "你的视频",
  "job.player": "你的营销视频",
  "job.download": "下载 MP4",
  "job.copyLink": "复制公开链接",
  "job.copied": "链接已复制。",
  "job.copyFailed": "无法复制，请手动选择下面的链接。",
  "job.publicLink": "任何拿到此链接的人都可以观看视频",
  "job.cancel": "取消这个视频",
  "job.failedAt": "在{stage}时出了问题。",
  "job.refunded": "你的 {n} 个点数已退回余额。",
  "step.script": "撰写脚本",
  "step.enhance": "美化照片",
  "step.video": "生成视频",
  "step.finalize": "收尾处理",
  "stage.queued": "排队等待",
  "stage.script": "撰写脚本",
  "stage.enhance": "美化照片",
  "stage.video": "生成视频",
  "stage.finalize": "收尾处理",
  "stage.done": "完成",
  "stageNow.queued": "正在排队等待……",
  "stageNow.script": "正在撰写脚本……",
  "stageNow.enhance": "正在美化照片……",
  "stageNow.video": "正在生成视频……",
  "stageNow.finalize": "正在收尾……",
  "stageNow.done": "完成！",
  "statusText.succeeded": "你的视频已经做好了。",
  "statusText.failed": "这个视频没能生成。",
  "statusText.cancelled": "这个视频已取消。",
  "status.queued": "排队中",
  "status.running": "制作中",
  "status.succeeded": "已完成",
  "status.failed": "失败",
  "status.cancelled": "已取消",

  "videos.title": "我的视频",
  "videos.empty": "还没有视频。上传一张照片就能做出第一个。",
  "videos.delete": "删除",
  "videos.confirmDelete": "要永久删除这个视频吗？",
  "videos.yesDelete": "确认删除",
  "videos.seconds": "{n} 秒",

  "credits.title": "点数",
  "credits.lead": "5 秒视频消耗 1 个点数，10 秒视频消耗 2 个。生成失败会自动退回。",
  "credits.balance": "当前余额",
  "credits.prices": "点数永不过期。",
  "credits.packs": "充值",
  "credits.packCredits": "{n} 个点数",
  "credits.packVideos": "最多可做 {n} 个短视频",
  "credits.buy": "购买",
  "credits.buyUnavailable": "暂时还不能购买点数。",
  "credits.packsUnavailable": "点数套餐暂未开放。",
  "credits.cardNote": "付款由我们的支付服务商处理，Glimvid 不会看到你的银行卡信息。",
  "credits.history": "记录",
  "credits.when": "时间",
  "credits.what": "项目",
  "credits.amount": "点数",
  "credits.noEntries": "暂无记录。",
  "credits.unavailable": "点数记录暂不可用。",
  "kind.grant": "赠送点数",
  "kind.debit": "视频",
  "kind.refund": "退回",
  "kind.purchase": "购买",

  "account.title": "账户",
  "account.profile": "个人资料",
  "account.marketing": "偶尔通过邮件给我发送使用技巧和优惠",
  "account.training": "不要用我的照片改进 Glimvid 的模型",
  "account.trainingHint": "你的照片只会为制作视频而发送给我们的 AI 服务商。",
  "account.password": "密码",
  "account.changePassword": "修改密码",
  "account.passwordChanged": "密码已修改，其他设备已退出登录。",
  "account.data": "你的数据",
  "account.dataText": "以 JSON 文件下载我们保存的关于你的全部数据。",
  "account.export": "导出我的数据",
  "account.exported": "完成：数据导出文件已下载。",
  "account.delete": "删除账户",
  "account.deleteText": "这会删除你的账户、照片、视频和点数，且无法恢复。",
  "account.deleteConfirm": "我明白所有内容都会被删除",
  "account.deleteConfirmNeeded": "请勾选此项以确认。",
  "account.deleteButton": "删除我的账户",
  "privacy.collect": "我们保存你的邮箱、经 scrypt 哈希的密码、你的照片和生成的内容、IP、请求时间和点数余额。",
  "privacy.cards": "我们从不保存银行卡信息；付款来自支付服务商。",
  "privacy.logs": "使用日志最多保留 30 天。",
  "privacy.ai": "照片和描述只会为制作视频而发送给 AI 服务商。",
  "privacy.public": "拿到不可猜测链接的人可以观看视频；你可以随时删除任何一个。",
  "privacy.storage": "登录状态和语言保存在本浏览器的本地存储中；没有跟踪 Cookie。",

  "flash.welcome": "欢迎来到 Glimvid！第一段 5 秒视频免费。",
  "flash.loggedOut": "你已退出登录。",
  "flash.sessionEnded": "登录已过期，请重新登录。",
  "flash.videoDeleted": "视频已删除。",

  "err.generic": "出了点问题，请重试。",
  "err.network": "无法连接 Glimvid，请检查网络后重试。",
  "err.internal": "我们这边出了点问题，请重试。",
  "err.rate_limited": "尝试次数过多，请一分钟后再试。",
  "err.unauthenticated": "邮箱或密码不正确。",
  "err.email_taken": "这个邮箱已经注册过了。",
  "err.wrong_password": "密码不正确。",
  "err.insufficient_credits": "你的点数不足以制作这个视频。",
  "err.upload_failed": "照片上传失败，请重试。",
  "err.not_an_image": "这个文件不是可用的照片（JPEG、PNG 或 WebP）。",
  "err.too_large": "照片超过 10 MB。",
  "err.not_found": "找不到该内容。",
  "err.http_404": "此功能暂不可用。",
  "err.upload_not_ready": "照片还没准备好，请重新上传。",
  "err.not_cancellable": "这个视频已经无法取消。",
  "err.invalid_field": "请检查这一项。",
  "err.invalid_field.email": "请输入有效的邮箱地址。",
  "err.invalid_field.password": "密码至少需要 10 个字符。",
  "err.invalid_field.new": "新密码至少需要 10 个字符。",
  "err.invalid_field.confirm_age_16": "Glimvid 不面向 16 岁以下用户，请确认你已年满 16 岁。",
  "err.invalid_field.name": "名字太长或包含不支持的字符。",
  "err.invalid_field.title": "请填写商品名称（最多 120 个字符）。",
  "err.invalid_field.description": "请描述商品（最多 2000 个字符）。",
  "err.invalid_field.style": "风格最多 40 个字符。",
  "err.invalid_field.music": "请选择一种音乐。",
  "err.invalid_field.display_price": "价格最多 24 个字符，且只能写一行。",
  "err.invalid_field.url": "请输入网址，例如 https://shop.example.com 或 shop.example.com/mug（最多 100 个字符）。",
  "err.invalid_field.aspect_ratio": "请选择画面比例。",
  "err.invalid_field.duration_s": "时长只能是 5 秒或 10 秒。",
  "err.invalid_field.content_type": "只支持 JPEG、PNG 或 WebP 照片。",
  "err.invalid_field.size_bytes": "照片不能超过 10 MB。",
  "err.malformed_json": "请求格式有误，请刷新页面后重试。",
  "err.password_changed": "密码已修改，请重新登录。",
};

// English falls back to the server's own wording for field problems.
en["err.invalid_field"] = "Please check this field.";

const DICTS = { en, zh };
const listeners = [];

function initial() {
  const stored = localStorage.getItem(LANG_KEY);
  if (stored === "en" || stored === "zh") return stored;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

let lang = initial();
document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";

export const getLang = () => lang;

/** The string for key in the current language; `fallback` when it has none. */
export function t(key, vars, fallback) {
  let s = DICTS[lang][key];
  if (s === undefined) s = fallback !== undefined ? fallback : DICTS.en[key];
  if (s === undefined || s === null) return fallback === undefined ? key : fallback;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (_, name) => {
      const v = vars[name];
      if (v === undefined || v === null) return "";
      return typeof v === "string" && DICTS.en[v] !== undefined ? t(v) : String(v);
    });
  }
  return s;
}

function format(spec) {
  const locale = lang === "zh" ? "zh-CN" : "en";
  try {
    if (spec.kind === "date") {
      return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(spec.value));
    }
    if (spec.kind === "money") {
      return new Intl.NumberFormat(locale, { style: "currency", currency: String(spec.currency).toUpperCase() }).format(spec.value / 100);
    }
    if (spec.kind === "number") return new Intl.NumberFormat(locale).format(spec.value);
  } catch {
    // Fall through to the raw value.
  }
  return String(spec.value);
}

function localizeOne(el) {
  const d = el.dataset;
  if (d.i18n) {
    const vars = d.i18nVars ? JSON.parse(d.i18nVars) : null;
    const fallback = d.i18nFallback || undefined;
    el.textContent = fallback && d.preferFallback === lang ? fallback : t(d.i18n, vars, fallback);
  }
  if (d.i18nAttr) {
    for (const [attr, key] of Object.entries(JSON.parse(d.i18nAttr))) el.setAttribute(attr, t(key));
  }
  if (d.fmt) el.textContent = format(JSON.parse(d.fmt));
}

/** Translates el (and, when deep, everything inside it). */
export function localize(el, deep = true) {
  localizeOne(el);
  if (deep) for (const child of el.querySelectorAll("[data-i18n], [data-i18n-attr], [data-fmt]")) localizeOne(child);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

export function setLang(next) {
  if (next !== "en" && next !== "zh") return;
  lang = next;
  localStorage.setItem(LANG_KEY, next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
  localize(document.body, true);
  for (const fn of listeners) fn(next);
}
