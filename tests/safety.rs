//! The crisis rule on phrasings that must and must not trigger it.

use reflectdiffu::safety::{assess, assess_turns};

const MUST_TRIGGER: &[&str] = &[
    "I want to kill myself.",
    "i wanna kill myself",
    "Sometimes I think about killing myself.",
    "I've been thinking of ending my life.",
    "I am going to end my life tonight",
    "I'm going to take my own life",
    "I just want to end it all.",
    "I'm suicidal.",
    "im suicidal and i dont know what to do",
    "I have been feeling suicidal lately",
    "I've been having suicidal thoughts again.",
    "I keep having thoughts of suicide",
    "I'm thinking about suicide.",
    "Lately I have been considering suicide.",
    "I want to commit suicide.",
    "I'm planning to commit suicide",
    "I attempted suicide last year and I feel it coming back",
    "I wrote my suicide note yesterday.",
    "I want to die.",
    "I just want to die",
    "I really wanted to die after she left me.",
    "Everything makes me want to die",
    "I wish I was dead.",
    "Honestly I wish I were dead",
    "I wish I had never been born.",
    "Everyone would be better off without me.",
    "I'd be better off dead.",
    "I don't want to live anymore.",
    "i dont want to be alive",
    "I don't want to wake up tomorrow.",
    "There is no reason to live.",
    "I have nothing to live for since my wife died.",
    "Life is not worth living.",
    "I can't go on living like this.",
    "I'm not sure I want to live anymore.",
    "I want to hang myself.",
    "I'm going to overdose on my pills.",
    "I thought about jumping, I want to jump off a bridge",
    "I self-harm when I'm stressed.",
    "I've been self harming again.",
    "I want to hurt myself.",
    "I keep cutting myself.",
    "I've started cutting myself to cope.",
    "Sometimes I burn myself on purpose.",
    "Kms. I can't take this.",
    "I FEEL SUICIDAL",
    "My boss yelled at me. I'm not okay. I want to die.",
];

const MUST_NOT_TRIGGER: &[&str] = &[
    "I could kill for a pizza right now.",
    "This exam is killing me.",
    "My feet are killing me after that hike.",
    "I almost killed myself falling down the stairs.",
    "I nearly killed myself laughing at that movie.",
    "I was killing myself laughing.",
    "I've been killing myself at the gym all week.",
    "That cake was to die for.",
    "I'm dying to see the new Star Wars movie.",
    "I wanted to die of embarrassment when I tripped on stage.",
    "I could have died laughing.",
    "I don't want to die, I'm scared of the surgery.",
    "I would never kill myself.",
    "I'm not suicidal, just really sad.",
    "I have never been suicidal.",
    "I don't have any suicidal thoughts, don't worry.",
    "My uncle committed suicide last year and I miss him.",
    "We watched a documentary on suicide prevention.",
    "He tried to commit suicide when he was young.",
    "I cut myself while cooking dinner.",
    "I cut myself shaving this morning.",
    "I burned myself on the stove.",
    "I hurt myself playing football.",
    "I fell and hurt myself.",
    "I really shot myself in the foot with that decision.",
    "I am going to drown myself in work this week.",
    "I stopped hurting myself two years ago.",
    "I finally got the job I wanted after months of searching.",
    "My dog died last week.",
    "I'm so happy, my sister is getting married!",
    "I was terrified during the storm.",
    "My grandmother passed away and I feel lost.",
    "I failed my driving test again.",
    "I'm afraid of dying alone.",
    "The suicide squad movie was fun.",
    "My car has suicide doors.",
    "I want to live in Paris one day.",
    "I don't want to live with my parents anymore.",
    "I'm dead tired.",
    "I felt dead inside at that boring meeting, lol.",
    "The battery on my phone died.",
    "I could just kill my brother for eating my lunch!",
    "That joke killed me.",
    "I overdosed on sugar at the party.",
    "I can't go on like this, I need a new job.",
];

#[test]
fn every_statement_of_suicide_or_self_harm_risk_triggers_the_note() {
    assert!(MUST_TRIGGER.len() >= 40);
    let missed: Vec<&str> = MUST_TRIGGER
        .iter()
        .copied()
        .filter(|m| !assess(m).is_crisis())
        .collect();
    assert!(missed.is_empty(), "not triggered: {missed:#?}");
}

#[test]
fn idioms_accidents_negations_and_other_people_do_not_trigger_it() {
    assert!(MUST_NOT_TRIGGER.len() >= 40);
    let wrong: Vec<(&str, String)> = MUST_NOT_TRIGGER
        .iter()
        .filter_map(|m| assess(m).matched.map(|p| (*m, p)))
        .collect();
    assert!(wrong.is_empty(), "triggered: {wrong:#?}");
}

#[test]
fn only_the_speakers_turns_of_a_conversation_count() {
    let turns = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // Oldest first; the last turn is the speaker's, so turns 0 and 2 are the speaker's, turn 1 the listener's.
    assert!(
        assess_turns(&turns(&[
            "I want to die.",
            "Oh no, why?",
            "My wife left me."
        ]))
        .is_crisis()
    );
    assert!(
        !assess_turns(&turns(&[
            "My wife left me.",
            "I want to die.",
            "Yes it was awful"
        ]))
        .is_crisis()
    );
}
