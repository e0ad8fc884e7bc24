use glimvid_media::script::{self, ScriptInput, write};
use glimvid_media::{Language, Script};

const TITLE: &str = "Aurora Ceramic Mug";
const DESCRIPTION: &str = "Hand-glazed stoneware that keeps coffee hot for hours. Dishwasher safe! \
    Holds 350 ml, perfect for slow mornings. Each one is unique.";
const ZH_TITLE: &str = "极光陶瓷杯";
const ZH_DESCRIPTION: &str = "手工上釉的粗陶杯，保温效果出色。可放入洗碗机清洗！容量350毫升，适合慢悠悠的早晨。每一只都独一无二。";

fn input<'a>(
    title: &'a str,
    description: &'a str,
    language: Language,
    duration_s: u32,
) -> ScriptInput<'a> {
    ScriptInput {
        title,
        description,
        language,
        duration_s,
        style: None,
        variant: 0,
    }
}

fn has_cjk(s: &str) -> bool {
    s.chars().any(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c))
}

#[test]
fn same_input_same_script() {
    let a = write(&input(TITLE, DESCRIPTION, Language::En, 10));
    let b = write(&input(TITLE, DESCRIPTION, Language::En, 10));
    assert_eq!(a, b);
}

#[test]
fn every_caption_gets_a_second_and_a_half_and_longer_videos_more_scenes() {
    use glimvid_media::script::{MIN_CAPTION_S, end_card_seconds, scene_count};
    assert_eq!(scene_count(5), 1);
    assert_eq!(scene_count(10), 4);
    for duration in [5, 10, 15, 30, 60] {
        // Hook and scenes share what the end card leaves.
        let captions = 1 + scene_count(duration);
        let each = (f64::from(duration) - end_card_seconds(duration)) / captions as f64;
        assert!(each >= MIN_CAPTION_S, "{duration}s: {each:.2}s per caption");
    }
    let mut previous = 0;
    for duration in [1, 5, 10, 15, 30, 60] {
        for language in [Language::En, Language::Zh] {
            let s = write(&input(TITLE, DESCRIPTION, language, duration));
            assert!((1..=5).contains(&s.scenes.len()), "{duration}s: {s:?}");
            s.validate().expect("writer output is valid");
            if language == Language::En {
                assert!(s.scenes.len() >= previous);
                previous = s.scenes.len();
            }
        }
    }
}

#[test]
fn scenes_come_from_the_description() {
    let s = write(&input(TITLE, DESCRIPTION, Language::En, 10));
    assert_eq!(
        s.scenes[0],
        "Hand-glazed stoneware that keeps coffee hot for hours."
    );
    assert_eq!(s.scenes[1], "Dishwasher safe!");
    assert!(s.hook.contains(TITLE) || s.call_to_action.contains(TITLE) || !s.hook.is_empty());

    let zh = write(&input(ZH_TITLE, ZH_DESCRIPTION, Language::Zh, 10));
    assert_eq!(zh.scenes[0], "手工上釉的粗陶杯，保温效果出色。");
    assert_eq!(zh.scenes[1], "可放入洗碗机清洗！");
}

#[test]
fn chinese_scripts_are_chinese_and_english_scripts_english() {
    let zh = write(&input(ZH_TITLE, ZH_DESCRIPTION, Language::Zh, 5));
    assert!(has_cjk(&zh.hook) && has_cjk(&zh.call_to_action), "{zh:?}");
    assert!(zh.scenes.iter().all(|s| has_cjk(s)), "{zh:?}");

    // The stock lines follow the language even when the seller wrote little.
    let zh_thin = write(&input("Mug", "", Language::Zh, 15));
    assert!(zh_thin.scenes.iter().all(|s| has_cjk(s)), "{zh_thin:?}");
    assert!(has_cjk(&zh_thin.call_to_action));

    let en = write(&input(TITLE, DESCRIPTION, Language::En, 5));
    let all_en = [en.hook.as_str(), en.call_to_action.as_str()]
        .into_iter()
        .chain(en.scenes.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .concat();
    assert!(!has_cjk(&all_en));
    assert!(all_en.chars().filter(|c| c.is_ascii_alphabetic()).count() > 40);
}

#[test]
fn different_products_get_different_phrasing() {
    let hooks: std::collections::HashSet<String> = (0..20)
        .map(|i| {
            let title = format!("Product {i}");
            let s = write(&input(&title, "A thing.", Language::En, 5));
            s.hook.replace(&title, "{t}")
        })
        .collect();
    assert!(hooks.len() >= 3, "{hooks:?}");

    let calm = write(&ScriptInput {
        style: Some("elegant"),
        ..input(TITLE, DESCRIPTION, Language::En, 5)
    });
    let lively = write(&ScriptInput {
        style: Some("energetic"),
        ..input(TITLE, DESCRIPTION, Language::En, 5)
    });
    assert_ne!(calm.hook, lively.hook);
}

#[test]
fn variants_of_one_product_open_with_different_hooks_and_keep_their_scenes() {
    for language in [Language::En, Language::Zh] {
        let scripts: Vec<_> = (0..4)
            .map(|variant| {
                write(&ScriptInput {
                    variant,
                    ..input(TITLE, DESCRIPTION, language, 15)
                })
            })
            .collect();
        let hooks: std::collections::HashSet<&str> =
            scripts.iter().map(|s| s.hook.as_str()).collect();
        assert_eq!(hooks.len(), 4, "{language:?}: {hooks:?}");
        assert!(scripts.iter().all(|s| s.scenes == scripts[0].scenes));
        // The first variant is the lone video's script.
        assert_eq!(scripts[0], write(&input(TITLE, DESCRIPTION, language, 15)));
    }
}

#[test]
fn hostile_or_empty_input_still_gives_a_valid_script() {
    let long = "word ".repeat(2000);
    let weird = "\u{0}\u{7}🙂🙂 — ...!!! \n\n\t ,,, 。。。";
    for (title, description) in [
        ("", ""),
        (weird, weird),
        (long.as_str(), long.as_str()),
        (
            "x",
            "no-punctuation-just-one-very-long-token-"
                .repeat(20)
                .as_str(),
        ),
    ] {
        for language in [Language::En, Language::Zh] {
            let s = write(&input(title, description, language, 10));
            s.validate().unwrap_or_else(|e| panic!("{e}: {s:?}"));
        }
    }
}

#[test]
fn validate_catches_bad_shapes() {
    let good = write(&input(TITLE, DESCRIPTION, Language::En, 10));
    good.validate().expect("good script");

    let with = |f: &dyn Fn(&mut Script)| {
        let mut s = good.clone();
        f(&mut s);
        s.validate().expect_err("should be refused").code()
    };
    assert_eq!(with(&|s| s.scenes.clear()), "invalid_script");
    assert_eq!(with(&|s| s.scenes = vec!["a".into(); 6]), "invalid_script");
    assert_eq!(with(&|s| s.hook = "   ".into()), "invalid_script");
    assert_eq!(with(&|s| s.call_to_action.clear()), "invalid_script");
    assert_eq!(
        with(&|s| s.scenes[1] = "x".repeat(script::MAX_SCENE_CHARS + 1)),
        "invalid_script"
    );
    assert_eq!(with(&|s| s.hook = "bad\u{0}byte".into()), "invalid_script");
}

#[test]
fn scripts_round_trip_through_json() {
    let s = write(&input(ZH_TITLE, ZH_DESCRIPTION, Language::Zh, 10));
    let json = serde_json::to_string(&s).expect("serialises");
    assert!(json.contains("\"call_to_action\""));
    let back: Script = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, s);
    assert_eq!(s.captions().len(), s.scenes.len() + 2);
}

#[test]
fn languages_and_aspects_parse() {
    assert_eq!(Language::parse("zh"), Some(Language::Zh));
    assert_eq!(Language::parse("fr"), None);
    for aspect in glimvid_media::Aspect::ALL {
        assert_eq!(glimvid_media::Aspect::parse(aspect.as_str()), Some(aspect));
    }
    assert_eq!(glimvid_media::Aspect::parse("4:3"), None);
}
