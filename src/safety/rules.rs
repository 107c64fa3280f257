//! The crisis rules: reviewed phrase patterns over normalised words ([`super::normalise`]), each with the tier
//! it raises and the warning-sign category it belongs to. [`super::matcher`] matches them and holds the cues that
//! cancel a match.
//!
//! Pattern language, one slot per space-separated item:
//! * `a|b` — one word, any of the alternatives; a trailing `?` makes the slot optional (`really|just?`);
//! * `*N` — up to N words of anything (not across a comma);
//! * `>a|b|$` — the next word must be one of these (`$`: the end of the sentence or a comma); not consumed;
//! * `!a|b` — the next word must not be one of these; not consumed.

use super::{Category, Tier};

pub struct Rule {
    pub pattern: &'static str,
    pub tier: Tier,
    pub category: Category,
    /// A name of the subject ("self-harm", "suicidal") rather than a statement: also cancelled when the
    /// sentence is about prevention, research or awareness.
    pub bare: bool,
    /// Always about someone else ("sent me a goodbye message").
    pub other: bool,
}

const fn clear(category: Category, pattern: &'static str) -> Rule {
    Rule {
        pattern,
        tier: Tier::Clear,
        category,
        bare: false,
        other: false,
    }
}
const fn possible(category: Category, pattern: &'static str) -> Rule {
    Rule {
        tier: Tier::Possible,
        ..clear(category, pattern)
    }
}
const fn bare(category: Category, pattern: &'static str) -> Rule {
    Rule {
        bare: true,
        ..clear(category, pattern)
    }
}
const fn other(category: Category, pattern: &'static str) -> Rule {
    Rule {
        other: true,
        ..clear(category, pattern)
    }
}

use Category::*;

pub const RULES: &[Rule] = &[
    // wish to die (C-SSRS 1, "wish to be dead"; Lifeline: "talking about wanting to die")
    clear(
        WishToDie,
        "want|wanted|need to die !my|your|the|hair|of|for|laughing|from|in|on",
    ),
    clear(
        WishToDie,
        "wanting to die !my|your|the|hair|of|for|laughing",
    ),
    clear(WishToDie, "wish i was|were dead"),
    clear(WishToDie, "wish i wasn't|weren't alive|here|born"),
    clear(WishToDie, "wish i|i'd had? never been born"),
    clear(WishToDie, "wish i could just? die|disappear"),
    clear(WishToDie, "never wake up"),
    clear(
        WishToDie,
        "wish|hope|pray that? i would|could? just? not|never wake up",
    ),
    clear(
        WishToDie,
        "wish|hope|pray *3 that? i won't|don't|wouldn't wake up",
    ),
    clear(WishToDie, "don't want to wake up"),
    clear(
        WishToDie,
        "don't want to live|exist !with|in|near|at|there|here|alone|together|like|on|under|next|close|somewhere|where|through|a|my|this|that",
    ),
    clear(
        WishToDie,
        "don't want to be alive|here|around >anymore|any|$|now",
    ),
    clear(WishToDie, "don't want to be alive"),
    clear(WishToDie, "not sure i want to live"),
    clear(
        WishToDie,
        "want|wish it|everything|this all? to end|stop >$|forever|for|now|already",
    ),
    clear(WishToDie, "want|wish my life to end|stop"),
    clear(WishToDie, "want|wish my life to be over"),
    clear(WishToDie, "rather be dead"),
    clear(WishToDie, "better off dead"),
    clear(
        WishToDie,
        "hope|wish|pray i get|got|would|could get? hit|run",
    ),
    clear(
        WishToDie,
        "death|dying would be a? relief|welcome|easier|better|peaceful|nice",
    ),
    clear(WishToDie, "tired|sick of being alive|living|existing|life"),
    clear(WishToDie, "hate being alive"),
    clear(WishToDie, "ready to die !for|on"),
    possible(
        WishToDie,
        "thinking|think|thought about|of dying|death >$|and|a|every|all|lately|again",
    ),
    possible(WishToDie, "disappear forever|for"),
    // intent (C-SSRS 2-4: active thoughts, intent)
    clear(Intent, "kill|killing myself"),
    clear(Intent, "unalive|unaliving myself"),
    clear(Intent, "unalive|unaliving"),
    clear(Intent, "end|ending my own? life"),
    clear(Intent, "take|taking my own? life"),
    clear(Intent, "end|ending it all"),
    clear(
        Intent,
        "to|i'm|i'll|i end|ending it|things >$|tonight|today|now|soon|this|for|all|once|already|right|forever|tomorrow",
    ),
    bare(Intent, "suicidal"),
    clear(Intent, "commit|committing suicide"),
    clear(
        Intent,
        "thinking|think|thought|talking|talk|talked about|of suicide",
    ),
    clear(Intent, "considering|contemplating|planning|plan suicide"),
    clear(Intent, "thoughts|thought of|about suicide|killing"),
    clear(Intent, "my suicide"),
    clear(
        Intent,
        "suicide feels|seems|is|looks like? the|my|an? only? way|option|answer|solution|choice",
    ),
    clear(Intent, "attempted suicide"),
    clear(Intent, "a plan to kill|end"),
    possible(Intent, "going to do it >tonight|today|this|now|soon"),
    possible(Intent, "only way out"),
    // plan and means (C-SSRS 5, "intent with plan"; means named by safe-messaging guidance)
    clear(PlanOrMeans, "overdosing"),
    clear(PlanOrMeans, "overdose|od on"),
    clear(PlanOrMeans, "to|going|i'll|will|might overdose|od"),
    clear(PlanOrMeans, "take|took an overdose"),
    clear(
        PlanOrMeans,
        "took|take|taking|swallowed|swallow|swallowing|downed|down *2 all|bunch|handful|bottle|whole|entire|every *3 pills|meds|medication|medications|tablets|antidepressants|painkillers|sleeping|paracetamol|tylenol",
    ),
    clear(
        PlanOrMeans,
        "saving|saved|stockpiling|stockpiled|hoarding|hoarded|collecting|collected *3 pills|meds|medication|tablets|painkillers",
    ),
    clear(
        PlanOrMeans,
        "pills|meds|medication|tablets saved|stockpiled|hoarded",
    ),
    clear(PlanOrMeans, "pills|meds in my hand"),
    clear(PlanOrMeans, "it takes to die|overdose"),
    clear(PlanOrMeans, "pills|meds|tablets *4 to die"),
    clear(PlanOrMeans, "ways|how to die|suicide"),
    clear(
        PlanOrMeans,
        "painless|easiest|quickest|fastest|easy|quick|best|surest way|ways to die|suicide",
    ),
    clear(PlanOrMeans, "ways|way|how to kill myself"),
    clear(PlanOrMeans, "ways|way|how to end my life"),
    clear(PlanOrMeans, "ways|way|how to end it >$|all"),
    clear(
        PlanOrMeans,
        "hang|hanging|shoot|shooting|drown|drowning|poison|poisoning|gas|electrocute|stab|suffocate myself",
    ),
    clear(PlanOrMeans, "noose"),
    clear(PlanOrMeans, "use|using it|them|a|the|my *1 on myself"),
    clear(PlanOrMeans, "gun to my head"),
    clear(
        PlanOrMeans,
        "slit|slitting|slash|slashing|cut|cutting my wrists|wrist|throat",
    ),
    clear(
        PlanOrMeans,
        "jump|jumping|leap off|from a|the|this|that bridge|building|roof|rooftop|cliff|balcony|ledge|overpass|tower|window|skyscraper",
    ),
    clear(PlanOrMeans, "going to jump >$|now|tonight|off|from"),
    clear(
        PlanOrMeans,
        "jump|step|throw|walk|lie|lay *2 in front of a|the train|bus|truck|car|subway|tram|lorry",
    ),
    clear(PlanOrMeans, "throw myself off|from|under"),
    clear(PlanOrMeans, "drive|crash|drove|steer my|the car into"),
    clear(PlanOrMeans, "know how i'm going to do it"),
    possible(
        PlanOrMeans,
        "standing|sitting|stood on|at the|a bridge|ledge|edge|railing",
    ),
    // self-harm (NICE CG133's definition: self-poisoning or self-injury, whatever the purpose)
    bare(SelfHarm, "self-harm|self-harming|self-harmed"),
    clear(
        SelfHarm,
        "want|wanted|going|tempted|need|urge|urges to hurt|harm|cut|burn|punish|starve myself",
    ),
    clear(
        SelfHarm,
        "urge|urges|temptation|tempted to cut|hurt|harm|burn|self-harm",
    ),
    clear(SelfHarm, "about|of hurting|harming|cutting|burning myself"),
    clear(
        SelfHarm,
        "been|keep|kept|started|start|began hurting|harming|cutting|burning|scratching|hitting myself",
    ),
    clear(
        SelfHarm,
        "started|start|began|been|keep cutting|burning|harming >again|more",
    ),
    clear(
        SelfHarm,
        "cut|cutting|hurt|hurting|harm|harming|burn|burned|burnt|burning|hit|hitting|scratch|scratching|punch|punching|bite|biting|starve|starving myself *6 purpose|cope|feel|bleeds|bleed|bruise|bruises|again|punishment",
    ),
    clear(
        SelfHarm,
        "cut|cutting|burn|burning|scratch|scratching my arms|arm|skin|wrists|legs|thighs|body|stomach *4 purpose|cope|feel|bleeds|bleed|punishment",
    ),
    clear(SelfHarm, "punish myself by"),
    clear(SelfHarm, "by cutting|burning|starving >$|myself|my"),
    clear(
        SelfHarm,
        "been|keep|kept|started cutting|burning my arms|arm|legs|leg|thighs|skin|wrists|stomach",
    ),
    // farewell (Lifeline and WHO warning signs: saying goodbye, giving away possessions, settling affairs)
    clear(
        Farewell,
        "my last message|post|text|words !before|for|of|to|on|at|in|today|tonight",
    ),
    clear(Farewell, "goodbye|bye everyone|forever|world|all >$"),
    clear(Farewell, "this is goodbye"),
    clear(Farewell, "say|saying|said goodbye before i go"),
    clear(Farewell, "before i go for good|forever"),
    clear(Farewell, "after|when|once i'm|i am? gone|dead >$|and|so"),
    clear(
        Farewell,
        "i'll|i will? be gone|dead >$|tomorrow|soon|forever|by",
    ),
    clear(Farewell, "by the time *3 reads|read|see|sees this"),
    clear(
        Farewell,
        "given|giving|gave away all of? my things|stuff|belongings|possessions",
    ),
    clear(
        Farewell,
        "won't have to worry|deal about|with me >anymore|after|again|ever",
    ),
    clear(
        Farewell,
        "won't be here|around tomorrow|anymore|much|for|soon|next",
    ),
    clear(
        Farewell,
        "not going to be here|around much|for|anymore|tomorrow",
    ),
    clear(Farewell, "suicide note|letter"),
    possible(Farewell, "saying|said|say my goodbyes"),
    possible(Farewell, "made|written|wrote|writing my will"),
    possible(Farewell, "written|wrote|writing my note|letters"),
    possible(Farewell, "tell my *2 i'm sorry and"),
    possible(Farewell, "won't need them|it|anything anymore"),
    other(
        Farewell,
        "sent|send|sends me a goodbye|farewell|suicide message|text|note|letter|email",
    ),
    // hopelessness and feeling a burden (Lifeline, WHO: "no reason to live", "trapped", "a burden")
    clear(Hopelessness, "no point in|to|of living|life|live|existing"),
    clear(Hopelessness, "no point in|to|of being|staying alive"),
    clear(
        Hopelessness,
        "no point in|to|of going on >$|anymore|any|living",
    ),
    clear(
        Hopelessness,
        "what's|what the point of|in living|being|existing|going|staying|life >$|anymore|any|alive|on|now",
    ),
    clear(Hopelessness, "nothing|nobody left? to live for"),
    clear(Hopelessness, "no reason for? me? to live|exist"),
    clear(Hopelessness, "no reason for? me? to be alive|here|around"),
    clear(
        Hopelessness,
        "no reason for? me? to keep|go going|on|living",
    ),
    clear(Hopelessness, "not|isn't worth living"),
    clear(Hopelessness, "life is? isn't|not worth it|living"),
    clear(Hopelessness, "can't go on >$|anymore|any|living|without"),
    clear(Hopelessness, "better off without me|dead"),
    clear(Hopelessness, "better without me"),
    clear(
        Hopelessness,
        "better|easier off? if i just? wasn't|weren't around|here|alive",
    ),
    clear(
        Hopelessness,
        "better|easier off? if i just? was|were gone|dead",
    ),
    clear(
        Hopelessness,
        "better|easier off? if i just? died|disappeared",
    ),
    clear(
        Hopelessness,
        "nobody|who would|will|'d? even? miss|care|notice me? >$|if|about",
    ),
    clear(
        Hopelessness,
        "care|notice|miss me? if i died|disappeared|killed",
    ),
    clear(
        Hopelessness,
        "care|notice|miss me? if i was|were|wasn't gone|dead|here|around",
    ),
    clear(Hopelessness, "no way out except|but|other"),
    clear(Hopelessness, "done with life|living|existing"),
    clear(Hopelessness, "trying|fighting|struggling to stay alive"),
    clear(Hopelessness, "can't do life"),
    possible(Hopelessness, "i'm|am just? a burden"),
    possible(Hopelessness, "no way out"),
    possible(Hopelessness, "don't see a|any way|future out?"),
    possible(Hopelessness, "never get|be better >$"),
    possible(Hopelessness, "can't take this pain"),
];
