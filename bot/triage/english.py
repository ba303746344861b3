"""English for emergency triage: tokens, cues and the plumbing and dental lexicons.

Word forms are listed, not stemmed, so every form that counts can be read here. Transcripts come
from STT with punctuation; contractions are expanded ("won't" -> "will not") so negation is one
word. The profile's phrases are added as seeds by the engine; what is here is the vocabulary around
them (burst/bursting/broke/split, pouring/gushing/everywhere, overflowing, backing up...).
The tables are kept one concept per line on purpose (`fmt: off`): they are read and reviewed.
"""

from __future__ import annotations

import re

from bot.triage.engine import Concept, Cue, LanguageRules, Pattern, compile_classes

# fmt: off
_CLASSES = compile_classes(
    {
        # ---- plumbing
        "pipe": ["pipe", "pipes", "line", "main", "mains", "hose", "tank", "cylinder", "heater",
                 "boiler", "valve", "radiator", "joint", "fitting", "shut off", "shutoff",
                 "cistern", "supply", "plumbing"],
        "burst": ["burst", "bursts", "bursting", "bursted", "busted", "bust", "broke", "broken",
                  "breaking", "split", "splitting", "cracked", "snapped", "came apart",
                  "come apart", "blew", "blown", "ruptured", "exploded", "popped", "gave way",
                  "given way", "came off", "come off", "snapped off", "has gone", "let go",
                  "blown off"],
        "watery": ["water", "sewage", "sewer", "pipe", "pipes", "sink", "toilet", "loo", "tank",
                   "heater", "boiler", "dishwasher", "machine", "ceiling", "light", "wall",
                   "walls", "floor", "bath", "tub", "shower", "drain", "drains", "basement",
                   "it", "everything", "radiator", "valve"],
        "gush": ["pouring", "pours", "poured", "gushing", "gushes", "gushed", "spraying",
                 "sprays", "sprayed", "shooting", "streaming", "cascading", "running down",
                 "bubbling up", "coming in", "coming through", "coming out", "coming down",
                 "coming into", "coming up through", "coming up from", "flooding in",
                 "flooding into", "going all over", "going everywhere", "going into",
                 "running over", "filling up", "pissing", "leaking through", "dripping through",
                 "pouring in", "rushing", "squirting", "spurting", "jetting", "raining in",
                 "raining through", "raining down", "raining from", "fountain", "geyser"],
        "flow_subject": ["water", "sewage", "it"],
        "flow_soft": ["coming up", "running out", "leaking", "dripping", "seeping", "going",
                      "running"],
        "spread": ["everywhere", "all over", "through the ceiling", "through my ceiling",
                   "down the walls", "down the wall", "onto", "on the floor", "under water",
                   "into the flat", "into the kitchen", "into the basement", "all down",
                   "across the floor", "across my"],
        "electric": ["light switch", "switch", "socket", "sockets", "light fitting", "fuse box",
                     "electrics", "light", "lights", "plug"],
        "leak": ["leak", "leaks", "leaking", "leaked", "dripping", "drips", "seeping",
                 "coming through", "coming down", "running"],
        "wet": ["water", "leak", "leaks", "leaking", "dripping", "drips", "wet", "coming"],
        "flood": ["flood", "floods", "flooding", "flooded", "under water", "underwater",
                  "swamp", "full of water", "inches of water", "filling up with water",
                  "filling with water", "soaked", "soaking", "standing water", "a river",
                  "like a river", "a lake", "knee deep", "ankle deep"],
        "depth": ["inch", "inches", "foot", "feet", "centimetres", "cm", "metre"],
        "overflow": ["overflowing", "overflowed", "overflows", "overflow", "running over",
                     "flowing over"],
        "backup": ["backing up", "backed up", "backs up", "backup", "back up", "coming up",
                   "coming out", "coming into", "overflowing", "bubbling up", "pushing up",
                   "pushing out", "welling up", "spilling out", "will not go down"],
        "drainish": ["toilet", "toilets", "loo", "lavatory", "drain", "drains", "sink", "shower",
                     "bath", "bathtub", "tub", "sewer", "sewage", "basement"],
        "dirty": ["dirty water", "brown water", "brown stuff", "black water", "poo", "waste",
                  "faeces", "feces", "sewage"],
        "collapse": ["collapsed", "caved in", "fallen in", "came down", "come down", "sagging",
                     "bulging", "coming down", "falling in"],
        "nowater_not": ["damage", "damaged", "pressure", "problem", "problems", "issue",
                        "issues", "leak", "leaks", "in", "on", "hot", "bill"],
        "tap": ["tap", "taps", "faucet", "faucets", "anything"],
        "gas": ["gas", "propane"],
        "smell": ["smell", "smells", "smelled", "smelling", "smelt", "whiff", "odour", "odor",
                  "stink", "stinks", "stench", "reek", "reeks"],
        "gas_leak": ["leak", "leaks", "leaking", "leaked", "escaping", "hissing", "hiss"],
        "co": ["carbon monoxide", "co alarm", "co detector", "co alarms", "co detectors"],
        "symptom": ["headache", "headaches", "dizzy", "drowsy", "nauseous", "feel sick",
                    "feeling sick", "fainted", "passed out", "light headed"],
        "appliance": ["boiler", "heater", "furnace", "fire", "gas", "flue", "stove"],
        # ---- dental
        "face": ["face", "cheek", "cheeks", "jaw", "jaws", "eye", "eyes", "neck", "lip", "lips",
                 "chin", "mouth", "throat", "tongue", "temple"],
        "swell": ["swollen", "swelling", "swelled", "swell", "swells", "swollen up",
                  "puffing up", "puffed up", "puffy", "puffing", "blown up", "blew up",
                  "balloon", "ballooned", "ballooning", "lump", "swelled up", "puffed"],
        "gum": ["gum", "gums"],
        "bleed": ["bleeding", "bleed", "bleeds", "bled", "blood"],
        "knock": ["knocked", "knock", "knocks", "knocking", "fell", "come", "came", "fallen",
                  "smashed", "popped"],
        "tooth": ["tooth", "teeth", "molar", "incisor"],
        "severe": ["severe", "severely", "unbearable", "excruciating", "agony", "agonising",
                   "agonizing", "terrible", "horrendous", "horrible", "worst", "awful",
                   "so much", "intense", "crippling", "extreme", "really bad"],
        "pain": ["pain", "pains", "ache", "aching", "toothache", "hurts", "hurting", "painful",
                 "throbbing"],
        "breathe": ["breathe", "breathing", "breath"],
        "hard": ["difficulty", "difficult", "trouble", "hard", "struggling", "struggle",
                 "hardly", "barely", "can not", "cannot", "short of", "hurts to", "problems"],
        "swallow": ["swallow", "swallowing"],
        "airway": ["throat", "tongue", "airway"],
        "closing": ["closing", "closing up", "swelling", "swollen", "swelling up", "tight",
                    "tightening"],
        "spreading": ["spread", "spreading", "spreads", "going into", "gone into", "moving to",
                      "moved to", "down my"],
        "spread_to": ["eye", "eyes", "neck", "throat"],
        "broke": ["broke", "broken", "cracked", "split", "snapped", "smashed", "chipped off"],
        "loose_tooth": ["hanging out", "hanging", "dangling", "pushed back", "pushed in",
                        "knocked loose", "out of place", "hanging off"],
        "blow": ["punched", "hit", "elbowed", "kicked", "smacked", "headbutted", "whacked"],
        # ---- cues
        "svc": ["do", "handle", "deal", "fix", "cover", "offer", "repair", "treat", "see",
                "take", "test", "replace", "install", "service", "pump", "provide", "unblock",
                "clean", "work", "charge", "come out", "sort", "check"],
        "svc_request": ["install", "check", "test", "service", "fit", "replace", "recommend",
                        "quote", "inspect", "give me a price", "give me a quote", "price",
                        "descale"],
        "event": ["burst", "broke", "snapped", "split", "cracked", "got", "came", "started",
                  "happened", "fell", "knocked", "flooded", "overflowed", "went", "had",
                  "blew", "popped", "been", "collapsed"],
        "state": ["swollen", "flooded", "bleeding", "broken", "busted", "burst", "overflowing",
                  "blocked", "soaked", "under", "full", "everywhere", "unbearable", "killing",
                  "dripping"],
        "aux": ["is", "are", "am", "keeps", "keep", "has been", "have been", "been"],
        "other": ["neighbour", "neighbor", "neighbours", "neighbors", "friend", "friends",
                  "sister", "brother", "mum", "mom", "mother", "dad", "father", "colleague",
                  "cousin", "aunt", "uncle", "landlord", "boss", "dentist", "someone", "somebody"],
        "family": ["daughter", "son", "wife", "husband", "partner", "kids", "children",
                   "grandmother", "grandfather", "nan", "gran", "engineer", "plumber"],
        "report": ["had", "told", "said", "says", "recommended", "mentioned", "smelled", "saw",
                   "heard"],
        "say": ["told", "said", "says", "mentioned", "recommended", "reckons"],
        "ago_past": ["years", "year", "months", "month", "weeks", "week", "ages", "while",
                     "days", "long time"],
        "ago_now": ["minutes", "minute", "hour", "hours", "an hour", "half an hour"],
        "season": ["year", "month", "week", "winter", "summer", "spring", "autumn", "fall",
                   "time", "weekend", "christmas"],
        "month": ["january", "february", "march", "april", "may", "june", "july", "august",
                  "september", "october", "november", "december", "the summer", "the spring",
                  "the winter", "the autumn"],
        "fixed_stop": ["need", "want", "get", "be", "needs", "wanted", "like"],
        "better": ["fine", "okay", "ok", "better", "down", "good", "healed", "sorted", "fixed",
                   "away", "stopped", "cleared", "clear", "gone", "through"],
    }
)


def _p(*sources: str) -> tuple[Pattern, ...]:
    return tuple(Pattern(s, _CLASSES) for s in sources)


PLUMBING = (
    Concept("gas smell", "life", _p("{gas} ~4 {smell}", "{smell} ~3 {gas}", "rotten eggs",
                                    "{gas} ~3 {gas_leak}", "{gas_leak} ~2 {gas}",
                                    "{gas_leak} ~5 {gas} line", "{gas} line ~3 {gas_leak}")),
    Concept("carbon monoxide", "life", _p("{co}", "co ~2 going off", "co poisoning", "fumes",
                                          "{symptom} ~8 {appliance}", "{appliance} ~8 {symptom}")),
    Concept("burst pipe", "strong", _p("{pipe} ~5 {burst}", "{burst} ~2 {pipe}",
                                       "{burst} in the wall", "{burst} in the ceiling",
                                       "something {burst}")),
    Concept("flooding", "strong", _p("{flood}", "{depth} ~2 deep", "{depth} of water"),
            intense=True),
    Concept("water everywhere", "strong", _p("water ~5 {spread}", "{watery} ~4 {gush}",
                                              "{gush} ~4 {spread}"), intense=True),
    Concept("water coming in", "strong", _p("{flow_subject} ~3 {flow_soft} ~3 {spread}",
                                             "{flow_subject} ~2 {flow_soft} ~5 ceiling",
                                             "hear ~3 water ~2 running")),
    Concept("water near electrics", "strong", _p("{wet} ~5 {electric}", "{electric} ~4 {wet}"),
            intense=True),
    Concept("ceiling coming down", "strong", _p("ceiling ~4 {collapse}", "{collapse} ~3 ceiling"),
            intense=True),
    Concept("leak through the ceiling", "strong", _p("ceiling ~5 {leak}", "{leak} ~5 ceiling",
                                                      "{leak} ~3 {spread}",
                                                      "{leak} ~2 water ~2 {spread}")),
    Concept("overflowing", "strong", _p("{overflow}")),
    Concept("sewage", "strong", _p("sewage", "{drainish} ~3 {backup}", "{backup} ~4 {drainish}",
                                   "{dirty} ~4 {backup}", "{dirty} ~4 {gush}")),
    Concept("no water", "strong", _p("no water !{nowater_not}", "no running water",
                                     "nothing comes out ~4 {tap}", "water ~2 been cut off",
                                     "water ~2 got cut off")),
    Concept("leaking again", "weak", _p("{leak} ~2 again", "{leak} ~2 badly",
                                        "{leak} ~2 really bad")),
)

DENTAL = (
    Concept("breathing", "life", _p("{hard} ~4 {breathe}", "{breathe} ~2 {hard}")),
    Concept("swallowing", "life", _p("{hard} ~4 {swallow}")),
    Concept("airway swelling", "life", _p("{airway} ~3 {closing}", "{closing} ~3 {airway}")),
    Concept("swelling spreading", "life", _p("{spreading} ~3 {spread_to}",
                                             "{spread_to} ~2 has closed",
                                             "{spread_to} ~2 swollen shut")),
    Concept("facial swelling", "strong", _p("{face} ~4 {swell}", "{swell} ~5 {face}",
                                            "{face} ~4 up like a")),
    Concept("bleeding", "strong", _p("{bleed}")),
    Concept("knocked-out tooth", "strong", _p("{knock} ~4 {tooth} ~3 out", "{knock} out ~3 {tooth}",
                                              "{tooth} ~4 {knock} ~2 out", "{tooth} ~3 knocked",
                                              "{tooth} ~3 came out", "{tooth} ~3 {loose_tooth}"),
            intense=True),
    Concept("severe pain", "strong", _p("{severe} ~3 {pain}", "{pain} ~5 {severe}", "agony",
                                        "killing me", "painkillers ~3 not ~2 touching",
                                        "painkillers ~3 not ~2 working", "so much pain",
                                        "nerve ~2 exposed", "can not sleep ~3 pain",
                                        "{pain} ~5 can not sleep", "ten out of ten",
                                        "10 out of 10", "{pain} ~5 can not cope",
                                        "{pain} ~6 up all night", "up all night ~6 {pain}"),
            intense=True),
    Concept("gum swelling", "weak", _p("{gum} ~4 {swell}", "{swell} ~4 {gum}", "abscess", "pus")),
    Concept("broken tooth", "weak", _p("{broke} ~4 {tooth}", "{tooth} ~3 {broke}",
                                       "{tooth} ~3 loose", "{blow} ~3 {face}", "{blow} ~3 {tooth}",
                                       "i got {blow}", "been {blow}")),
)


def _cue(name: str, patterns: tuple[str, ...], blockers: tuple[str, ...] = ()) -> Cue:
    return Cue(name, _p(*patterns), _p(*blockers))


CUES = {
    # Questions about prices or services, and requests for routine work.
    "question": _cue("question", (
        "how much", "what do you charge", "what does it cost", "what would it cost",
        "what is the price", "what is the cost", "what is your price", "price for", "price of",
        "a quote", "quote for", "cost to", "charge for", "charge if", "call out charge",
        "call out fee", "extra charge", "is there a charge", "is there a fee", "fee if",
        "do you {svc}", "do you guys", "does the warranty", "is that something you", "something you look at", "something you check",
        "can you {svc_request}", "could you {svc_request}", "how long does", "is it normal",
        "installation", "install*", "fitted", "serviced", "a new", "checked", "looked at",
        "should i get", "is your emergency", "emergency service", "your number for",
        "invoice", "bill", "insurance", "report on", "maintenance", "a check",
    )),
    "hypothetical": _cue("hypothetical", (
        "if", "in case", "what if", "suppose", "supposing", "worried ~6 could",
        "worried ~6 will", "worried ~6 might", "afraid ~6 could", "afraid ~6 will",
        "make sure", "prevent", "does not happen again", "do not get", "before they",
        "before it", "for next time", "in the event", "could too", "so it does not",
    )),
    "minor": _cue("minor", (
        "a bit", "a little", "slightly", "only when", "when i brush", "when i floss",
        "little bit", "nothing urgent", "not urgent", "not an emergency",
    )),
    "past": _cue("past", (
        "last {season}", "{ago_past} ago", "back in", "in the past", "previously", "used to",
        "we had", "i had", "had a", "had an", "had sewage", "had flooding", "had the",
        "at my old", "old house", "in {month}", "from {month}", "the other day",
        "a while back", "you replaced", "you fixed", "you came", "you saw", "you treated",
        "you did", "fitted me in", "reported", "ages ago", "at the weekend", "once had",
        "last time",
    ), ("have had", "has had")),
    "reported": _cue("reported", (
        "my {other} ~6 {report}", "{other} ~3 {report}", "{family} ~3 {say}", "told me",
        "told us", "she said", "he said", "they said", "recommended", "{other} {pipe}",
        "{other} basement",
    )),
    "resolved": _cue("resolved", (
        "fixed", "repaired", "sorted", "{better} now", "all good", "all fine", "gone down",
        "went down", "went away", "cleared up", "cleaned up", "healed", "stopped",
        "much better", "under control", "turned out", "anymore", "any more", "no longer",
        "dealt with", "dried out", "we replaced", "come through fine", "came through fine",
        "it is fine", "is fine now", "gone now",
    ), (
        "{fixed_stop} ~3 fixed", "not stopped", "not stop*", "never stopped", "not stopping",
        "not been fixed",
    )),
    # Words that make a whole call a question rather than a report.
    "utterance": _cue("utterance", (
        "just asking", "just wondering", "out of curiosity", "for future reference",
        "just so i have it", "just in case", "asking for a friend", "asking for next time",
    )),
    # It is happening now.
    "now": _cue("now", (
        "right now", "at the moment", "currently", "as we speak", "just {event}",
        "still ~1 {ING}", "still ~1 {state}", "keeps", "keep", "will not stop", "can not stop",
        "not stopping", "not stopped", "non stop", "not slowing", "getting worse",
        "getting bigger", "getting stronger", "since", "this morning", "this afternoon",
        "this evening", "tonight", "today", "overnight", "{ago_now} ago", "help", "hurry",
        "asap", "urgent", "urgently", "send someone", "need someone", "get someone",
        "what do i do !if", "what should i do !if", "{aux} ~1 {ING}", "{aux} ~1 {state}",
        "can not turn", "can not get it to stop", "can not shut", "i have got", "we have got",
        "i have a", "we have a", "there is a", "there is water", "there is sewage",
        "there is no", "we have no", "i have no", "came home",
    ), (
        "{better} now", "now i just", "now i need", "now i want", "now i would",
        "{better} ~1 now",
    )),
    # How bad it is.
    "intense": _cue("intense", (
        "everywhere", "all over", "pouring", "gushing", "spraying", "shooting", "streaming",
        "waterfall", "under water", "underwater", "full of water", "inches of water",
        "through the ceiling", "raw sewage", "will not stop", "can not stop", "not stopping",
        "not stopped", "non stop", "keeps", "flooding", "flooded", "unbearable",
        "excruciating", "agony", "killing me", "horrendous", "blown up", "balloon",
        "getting worse", "getting bigger", "spread*", "doubled", "so much", "severe",
        "a lot", "badly", "really bad", "huge", "massive*", "fast", "full of blood",
        "filling with blood", "for hours", "hours", "fever", "temperature", "hot",
        "squirting", "spurting", "raining", "collapsed",
    )),
}

# "won't stop", "can't breathe", "no water": the negative word is the emergency itself.
NOT_NEGATING = _p(
    "will not stop", "can not stop", "not stopping", "has not stopped", "have not stopped",
    "not slowing", "can not turn", "can not get it to stop", "can not breathe",
    "can not swallow", "can not open", "can not shut", "can not sleep", "can not think",
    "no water", "no running water", "not touching", "not working", "nothing comes out",
    "is not stopping", "can not eat", "hardly", "barely", "not helping", "do not know",
    "i do not think it is", "can not cope", "no sleep", "will not go down",
)

MASKS = _p("no water damage", "no water pressure", "water damage", "emergency appointment",
           "water bill", "water softener", "water pressure")

ING_STOP = frozenset({
    "thing", "something", "anything", "nothing", "everything", "morning", "evening", "ceiling",
    "during", "building", "filling", "fitting", "ring", "bring", "king", "spring", "string",
    "booking", "parking", "wedding", "plumbing", "heating", "flooring", "wondering",
    "calling", "asking", "checking", "having", "going", "thinking", "ringing", "phoning",
    "looking", "getting", "wanting", "hoping", "trying", "planning", "meaning",
    "registering", "enquiring", "inquiring", "following", "writing", "emailing", "texting",
    "leaving", "paying", "travelling", "staying", "visiting", "wandering",
})
# fmt: on

_CONTRACTIONS = [
    (r"\bwon't\b", "will not"),
    (r"\bcan't\b", "can not"),
    (r"\bcannot\b", "can not"),
    (r"\bshan't\b", "shall not"),
    (r"\bain't\b", "is not"),
    (r"n't\b", " not"),
    (r"'re\b", " are"),
    (r"'ve\b", " have"),
    (r"'m\b", " am"),
    (r"'ll\b", " will"),
    (r"'d\b", ""),
    (r"\b(it|that|there|what|he|she|who|where|here)'s\b", r"\1 is"),
    (r"'s\b", ""),  # possessive more often than "is" after a noun: "my sister's pipe"
]
_SENTENCE = re.compile(r"[^.?!;]+[.?!;]*")
_TOKEN = re.compile(r"[a-z0-9]+|[,.?!;]")


def _sentences(text: str) -> list[tuple[str, list[str]]]:
    out = []
    for match in _SENTENCE.finditer(text):
        original = match.group(0).strip()
        if not original:
            continue
        said = original.lower().replace("\u2019", "'").replace("\u2018", "'")
        for pattern, repl in _CONTRACTIONS:
            said = re.sub(pattern, repl, said)
        said = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", said)  # call-out, knocked-out, shut-off
        tokens = [t for t in _TOKEN.findall(said) if t not in ("um", "uh", "erm", "er")]
        if tokens:
            out.append((original, tokens))
    return out


def _seed(phrase: str, strength: str) -> Pattern:
    tokens = [t for _, ts in _sentences(phrase) for t in ts if t not in ",.?!;"]
    return Pattern(" ".join(tokens), _CLASSES)


RULES = LanguageRules(
    code="en",
    sentences=_sentences,
    split_words=frozenset({"but", "however", "although", "though", "whereas", "except"}),
    split_pairs=frozenset({("and", "now"), (",", "now"), ("but", "now"), ("so", "now")}),
    negators=frozenset({"no", "not", "never", "without", "nothing", "none", "nor", "neither"}),
    negation_window=4,
    scope_ends=frozenset({",", "and", "so", "then", "because"}),
    not_negating=NOT_NEGATING,
    masks=MASKS,
    ing_stop=ING_STOP,
    lexicons={"plumbing": PLUMBING, "dental": DENTAL},
    cues=CUES,
    seed=_seed,
    confirm_questions={
        "plumbing": "Is water coming in right now?",
        "dental": "Is that happening right now?",
        "*": "Is that happening right now?",
    },
)
