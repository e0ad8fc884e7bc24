//! The closed list of reasons a video can fail, each with the words its
//! owner reads, in English and Chinese. Whatever produced a failure (a
//! provider's reply, an SDK error, a media error) is logged with the job
//! id and never stored: a job only ever carries a code from this list and
//! the text written for it here.

use crate::accounts::Language;

/// What the user reads when a failure's code is not on the list.
pub const INTERNAL: &str = "internal_error";
pub const RETRIES_EXHAUSTED: &str = "retries_exhausted";

struct Reason {
    code: &'static str,
    en: &'static str,
    zh: &'static str,
}

const fn reason(code: &'static str, en: &'static str, zh: &'static str) -> Reason {
    Reason { code, en, zh }
}

/// `{step}` is replaced by the step's name in the reader's language.
const REASONS: &[Reason] = &[
    reason(
        INTERNAL,
        "something went wrong on our side in the {step} step",
        "{step}步骤在我们这边出了问题",
    ),
    reason(
        RETRIES_EXHAUSTED,
        "the {step} step kept failing, so we stopped trying",
        "{step}步骤多次失败，我们已停止重试",
    ),
    reason(
        "deadline_exceeded",
        "the video took too long and was stopped",
        "视频耗时过长，已被停止",
    ),
    reason(
        "timeout",
        "the {step} step took too long",
        "{step}步骤耗时过长",
    ),
    reason(
        "pipeline_error",
        "the video pipeline stopped unexpectedly",
        "视频制作流程意外中止",
    ),
    reason(
        "not_started",
        "the video could not be started",
        "视频未能开始制作",
    ),
    reason(
        "injected_fault",
        "the {step} step failed (fault injected for testing)",
        "{step}步骤失败（测试注入的故障）",
    ),
    reason(
        "injected_transient_fault",
        "the {step} step failed for now (fault injected for testing)",
        "{step}步骤暂时失败（测试注入的故障）",
    ),
    reason(
        "provider_unavailable",
        "the AI service for the {step} step had a server error",
        "{step}步骤所用的 AI 服务出现服务器错误",
    ),
    reason(
        "provider_busy",
        "the AI service for the {step} step was too busy",
        "{step}步骤所用的 AI 服务过于繁忙",
    ),
    reason(
        "provider_timeout",
        "the AI service for the {step} step did not answer in time",
        "{step}步骤所用的 AI 服务未及时响应",
    ),
    reason(
        "provider_unreachable",
        "the AI service for the {step} step could not be reached",
        "无法连接{step}步骤所用的 AI 服务",
    ),
    reason(
        "provider_connection",
        "the connection to the AI service for the {step} step failed",
        "与{step}步骤所用 AI 服务的连接失败",
    ),
    reason(
        "provider_auth",
        "the AI service for the {step} step refused Glimvid's access; the fault is ours",
        "{step}步骤所用的 AI 服务拒绝了 Glimvid 的访问；问题在我们这边",
    ),
    reason(
        "provider_billing",
        "Glimvid's account with the AI service for the {step} step has run out; the fault is ours",
        "Glimvid 在{step}步骤所用 AI 服务的账户余额不足；问题在我们这边",
    ),
    reason(
        "provider_rejected",
        "the AI service for the {step} step could not handle this request",
        "{step}步骤所用的 AI 服务无法处理这个请求",
    ),
    reason(
        "provider_error",
        "the AI service for the {step} step answered with an error",
        "{step}步骤所用的 AI 服务返回了错误",
    ),
    reason(
        "provider_bad_reply",
        "the AI service for the {step} step sent a reply we could not read",
        "{step}步骤所用的 AI 服务返回了无法读取的答复",
    ),
    reason(
        "provider_bad_result",
        "the AI service for the {step} step sent a result we could not use",
        "{step}步骤所用的 AI 服务返回了无法使用的结果",
    ),
    reason(
        "blank_script",
        "the script came back empty",
        "生成的脚本为空",
    ),
    reason(
        "invalid_script",
        "the script came back in a form we could not use",
        "生成的脚本格式无法使用",
    ),
    reason(
        "missing_script",
        "the script step has not produced a script",
        "脚本步骤没有生成脚本",
    ),
    reason(
        "missing_video",
        "the video step has not produced a video",
        "视频步骤没有生成视频",
    ),
    reason(
        "unknown_task",
        "the video generator lost track of the video",
        "视频生成服务丢失了这个视频任务",
    ),
    reason(
        "video_task_lost",
        "the video generator lost track of the video",
        "视频生成服务丢失了这个视频任务",
    ),
    reason(
        "video_task_failed",
        "the video generator failed to make the video",
        "视频生成服务未能做出视频",
    ),
    reason(
        "video_task_expired",
        "the video generator's task expired before it finished",
        "视频生成任务在完成前已过期",
    ),
    reason(
        "video_task_cancelled",
        "the video generator cancelled the video",
        "视频生成服务取消了这个视频",
    ),
    reason(
        "video_timeout",
        "the video generator took too long",
        "视频生成服务耗时过长",
    ),
    reason(
        "result_expired",
        "the generated result expired before it could be saved",
        "生成的结果在保存前已过期",
    ),
    reason(
        "result_too_large",
        "the generated result was too large to save",
        "生成的结果过大，无法保存",
    ),
    reason(
        "download_failed",
        "the generated result could not be downloaded",
        "无法下载生成的结果",
    ),
    reason(
        "download_timeout",
        "the generated result took too long to download",
        "下载生成的结果耗时过长",
    ),
    reason(
        "download_refused",
        "the generated result's link pointed to a host we do not download from",
        "生成结果的链接指向我们不下载的主机",
    ),
    reason(
        "content_rejected",
        "the AI service's content checks flagged the request, so no video was made; {advice}",
        "AI 服务的内容审核拦截了这个请求，因此没有制作视频；{advice}",
    ),
    reason(
        "corrupt_image",
        "the photo could not be read; try another photo",
        "无法读取这张照片；请换一张照片",
    ),
    reason(
        "not_an_image",
        "the photo is not a JPEG, PNG or WebP image we can read",
        "这张照片不是可读取的 JPEG、PNG 或 WebP 图片",
    ),
    reason(
        "unsupported_format",
        "the photo is not a JPEG, PNG or WebP image we can read",
        "这张照片不是可读取的 JPEG、PNG 或 WebP 图片",
    ),
    reason(
        "format_mismatch",
        "the photo's contents do not match its file type",
        "照片内容与其文件类型不符",
    ),
    reason(
        "image_too_large",
        "the photo is larger than we can use",
        "照片尺寸超出可用范围",
    ),
    reason(
        "image_too_small",
        "the photo is smaller than we can use",
        "照片尺寸太小，无法使用",
    ),
    reason(
        "invalid_duration",
        "the video length is not one we make",
        "不支持这个视频时长",
    ),
    reason(
        "encode_failed",
        "the video could not be put together",
        "视频未能合成",
    ),
    reason(
        "image_encode_failed",
        "the enhanced photo could not be saved",
        "优化后的照片未能保存",
    ),
    reason(
        "audio_failed",
        "the sound track could not be made",
        "未能制作音轨",
    ),
    reason(
        "fallback_failed",
        "the stand-in renderer could not make the video",
        "备用渲染器未能做出视频",
    ),
];

fn find(code: &str) -> &'static Reason {
    REASONS
        .iter()
        .find(|r| r.code == code)
        .unwrap_or(&REASONS[0])
}

/// The code as stored: `code` when the list has it, `internal_error` otherwise.
pub fn listed(code: &str) -> &'static str {
    find(code).code
}

/// Every code a job can end with.
pub fn codes() -> impl Iterator<Item = &'static str> {
    REASONS.iter().map(|r| r.code)
}

fn step_name(stage: &str, language: Language) -> &'static str {
    match (stage, language) {
        ("script", Language::En) => "script",
        ("script", Language::Zh) => "脚本",
        ("enhance", Language::En) => "photo",
        ("enhance", Language::Zh) => "照片",
        ("video", Language::En) => "video",
        ("video", Language::Zh) => "视频",
        ("finalize", Language::En) => "publishing",
        ("finalize", Language::Zh) => "发布",
        (_, Language::En) => "start",
        (_, Language::Zh) => "开始",
    }
}

fn advice(stage: &str, language: Language) -> &'static str {
    match (stage, language) {
        ("script", Language::En) => "try different wording",
        ("script", Language::Zh) => "请换一种措辞",
        (_, Language::En) => "try another photo",
        (_, Language::Zh) => "请换一张照片",
    }
}

/// What the owner reads for `code` at `stage`.
pub fn message(code: &str, stage: &str, language: Language) -> String {
    let reason = find(code);
    let text = match language {
        Language::En => reason.en,
        Language::Zh => reason.zh,
    };
    text.replace("{step}", step_name(stage, language))
        .replace("{advice}", advice(stage, language))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_listed_once_and_reads_without_placeholders() {
        let mut seen = std::collections::BTreeSet::new();
        for code in codes() {
            assert!(seen.insert(code), "{code} twice");
            for language in [Language::En, Language::Zh] {
                for stage in ["queued", "script", "enhance", "video", "finalize"] {
                    let text = message(code, stage, language);
                    assert!(!text.contains('{'), "{code}: {text}");
                }
            }
        }
    }

    #[test]
    fn unknown_codes_read_as_ours_and_never_echo() {
        assert_eq!(listed("AccessDeniedException"), INTERNAL);
        let text = message("dispatch failure: io error", "enhance", Language::En);
        assert_eq!(text, "something went wrong on our side in the photo step");
        assert_eq!(listed("video_timeout"), "video_timeout");
    }
}
