"""Match a staff question ("can I ...?") to the policy rule that answers it: offline, fast and deterministic."""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from domain.rules import Rule, RuleBook

if TYPE_CHECKING:
    from domain.policy import PolicyDocument

# How sure the matcher must be before it answers at all, and how far ahead the best rule must be.
UNKNOWN_BELOW = 0.22
AMBIGUOUS_MARGIN = 0.04
_STRICTNESS = {"not_allowed": 0, "conditional": 1, "discouraged": 2, "allowed": 3}
_INDECENT_RULE = "indecent-images-of-children"
_RESTRICTED_RULE = "restricted-list-children"

# Phrases folded into one token before splitting, so "ex pupil" and "former student" read the same.
_PHRASES: tuple[tuple[str, str], ...] = (
    # "Year 6s", "my year 5 class": pupils (before the ex-pupil fold, so "my old Year 6s" reads as ex-pupils).
    (r"\b(year|yr) ?(\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven)s\b", "pupils"),
    (r"\b(year|yr) ?(\d{1,2}|one|two|three|four|five|six)( class| form| football| netball| team| group)?\b",
     "pupil\\3"),
    (r"\b(know|knows|found out|find out) where (i|you) live\b|\b(come|coming) round to my house\b", "threat"),
    (r"\b(the )?school (is|are) (against|for|in favour of|behind|opposed to|backing|supporting)\b", "schoolview"),
    (r"\b(ex|former|old|past|previous) ?-? ?(pupil|student|learner|kid|child)s?\b", "expupil"),
    (r"\bex ?-? ?(pupil|student)s?\b", "expupil"),
    (r"\b(leaver|leavers|alumni|alumnus|who (has|have) left|who left|that left)\b", "expupil"),
    (r"\bface ?book\b", "facebook"),
    (r"\bface ?to ?face\b", "facetoface"),
    # Children at another school, including our leavers now at secondary, are still pupils.
    (r"\b(other|another|different|secondary|high|upper|senior|big|new) schools?\b|\b(at|in|started) (secondary|"
     r"year (7|8|9|10|11|seven|eight|nine|ten|eleven)|sixth form)\b", "otherschool pupil"),
    (r"\b(the|our|this|that) trip\b|\btrip (back|home)\b", "schooltrip"),
    (r"\bwhats ?app\b", "whatsapp"),
    (r"\bsocial (media|network|networking)( sites?| platforms?)?\b", "socialmedia"),
    (r"\blinked ?in\b", "linkedin"),
    (r"\bprofessional network(ing)?( sites?)?\b", "linkedin"),
    (r"\bscreen ?(shot|grab|cap|print|capture)s?\b", "screenshot"),
    (r"\bsc(r)?eenshot(s|ted|ting)?\b", "screenshot"),
    (r"\b(restricted|no ?-? ?photos?|do not photograph|dont photograph) ?list\b", "restrictedlist"),
    (r"\b(cant|cannot|can not|mustnt|must not|not allowed to) be (photographed|filmed|shown|pictured)\b",
     "restrictedlist"),
    (r"\b(no|without) (photo|picture|image) (consent|permission)\b", "restrictedlist"),
    (r"\b(phone|mobile|mob|cell|personal|private|home|own) (number|no)\b", "phonenumber"),
    (r"\bmy number\b", "phonenumber"),
    (r"\b(school|work|office|official|staff) ?(e ?mails?|emails?|mails?|address|addresses)\b", "schoolemail"),
    (r"\b(personal|private|own|home) ?(e ?mails?|emails?)\b", "personalemail"),
    (r"\b(gmail|hotmail|yahoo|outlook com|icloud)\b", "personalemail"),
    (r"\b(school|class) (trip|visit|outing)s?\b", "schooltrip"),
    (r"\b(residential|outing|field trip|day trip)\b", "schooltrip"),
    (r"\b(e ?-? ?safety|online safety|internet safety)\b", "esafety"),
    (r"\bprofile (pic|pics|picture|photo|image)\b", "profilepic"),
    (r"\b(display (pic|picture|photo)|avatar|dp|pfp)\b", "profilepic"),
    (r"\b(head ?teacher|headteacher|the head|head of school|principal)\b", "headteacher"),
    (r"\b(line manager|head of department|deputy head|teaching assistant|member of staff|staff member|my team|"
     r"(other|another|fellow) (teacher|teachers|staff|member of staff))\b", "colleague"),
    (r"\b(my|our) (own )?(son|daughter|child|kid|kids|children|boy|girl)s? (goes|go|is|are|attends|attend)\b",
     "staffparent"),
    (r"\b(also a parent|a parent too|parent as well|parent here|parent at (the|this|our) school|"
     r"my own (child|son|daughter))\b", "staffparent"),
    (r"\b(where|which school|the school) (i|you) (work|teach)( at| in)?\b", "workplace"),
    (r"\b(i|you) (work|teach) (at|for) (villiers|the school|this school|my school)\b", "workplace"),
    (r"\b(what|how) (the )?school (thinks|think|feels)\b", "schoolview"),
    (r"\bschools? (view|views|opinion|position|stance)\b", "schoolview"),
    (r"\b(make|set|keep|lock|switch|turn) (my |it |me )?(\w+ )?(account |profile )?(to )?(private|public)\b",
     "privacy"),
    (r"\b(expected|expect|expects|compulsory|obliged|obligation|required|requirement|refuse|refusing|"
     r"condition of employment|make me|making me|force me)\b", "obligation"),
    (r"\b(group chat|group chats|gc)\b", "groupchat"),
    (r"\b(friend|follow|add) ?-? ?request(s|ed)?\b", "friend request"),
    (r"\b(slag(ging)? (off|of)|bad ?mouth(ing)?|trash talk(ing)?)\b", "criticise"),
    (r"\b(get rid of|throw away|wipe)\b", "delete"),
    (r"\bprivacy settings?\b", "privacy"),
    (r"\bfan (page|group|site)s?\b", "unofficial"),
    (r"\bnew (app|platform|site)s?\b", "newapp"),
    (r"\bsports day\b", "sportsday"),
    # Posting a parcel is not posting online; "by post" is a letter.
    (r"\bpost ?office\b", "postoffice"),
    (r"\b(post|posting|posted|send|sending) (a |an |the |my |some |this |that |off )?(parcel|package|packet|"
     r"parcels|packages|packets|stamp|stamps)\b", "parcel"),
    (r"\b(by|in the) post\b", "letter"),
    # Messaging-app groups are group chats, whatever the app; a named app stays social media.
    (r"\b(socialmedia|whatsapp|messenger|telegram|signal|snapchat|instagram|insta|discord) groups?\b",
     "socialmedia groupchat"),
    (r"\b(class|form) groups?\b", "groupchat"),
    # The parents' own group or page is its own situation, whatever the app.
    (r"\b(parents|parent|mums|mum|dads|carers)( socialmedia| facebook| whatsapp)? (groupchat|groups?|page)\b",
     "parent parentsgroup"),
    # A school team or club is a group of pupils.
    (r"\b(football|netball|rugby|cricket|hockey|athletics|sports|choir|chess|drama|dance|after ?school) (team|squad|"
     r"club|group)s?\b", "pupil club"),
    # Someone else starting the contact ("a pupil keeps messaging me"): the question is whether to answer.
    (r"\b(messag\w*|text(s|ed|ing)?|dm(s|d|ed|ing)?|contact(s|ed|ing)?|snapchat(s|ted|ting)?|whatsapp(s|ed|ing)?) "
     r"me\b", r"\1 inbound"),
    (r"\b(sent|sends|sending|send) me (a |an )?(message|messages|dm|dms|text|texts|snap|snaps)\b", "message inbound"),
    # Staff cover and duties are work, not the policy "covering" something.
    (r"\b(lunch|break|playground|gate|bus|yard|wet play|dinner|lunchtime) ?(duty|duties)\b", "rota"),
    (r"\b(cover|covers|covering|swap|swapping|swap over) (for |a |the |my |her |his |their |our )?(rota|duty|"
     r"duties|lesson|lessons|class|classes|ppa|sickness|absence|shift|shifts)\b", "rota"),
    (r"\b(whos|who is|who will be|who can|someone to) (covering|cover)\b", "rota"),
    (r"\bschool (phone|telephone|landline|mobile)s?\b", "schoolphone"),
    # Watching what staff do on school systems.
    (r"\b(keeps?|keeping) (an )?eyes? on|\bspy(ing)? on|\bsnoop(ing)? on|\bcheck(s|ing)? up on|\bmonitors?\b",
     "monitor"),
    (r"\b(websites?|sites?|pages) (i|we|staff|you|they|people|teachers) (visit|go on|browse|look at|use)\b",
     "internet monitor"),
    (r"\b(browsing|internet|search) history\b", "internet monitor"),
    (r"\b(schoolemail|school (laptop|computer|network|internet|wifi|device|system|account)s?)\b(( \w+){0,4}) "
     r"(private|confidential|secret)\b", r"\g<1>\g<3> monitor"),
    (r"\b(string|barrage|stream|flood|torrent|volley) of\b", "repeated"),
    # Someone else's behaviour ("a colleague has been posting ...") is about reporting misuse.
    (r"\b(colleague|teacher|staff) (has been|have been|is|are|keeps|kept|was|were|has|keep) (\w+ )?(post|"
     r"posting|posted|sharing|shared|message|messaging|messaged|friend|add|adding|added|putting|put)\b",
     "colleague misuse \\4"),
    (r"\b(do|will|would) (i|we) (have|need) to (have|use|put|install|read|check|carry|give)\b", "obligation \\4"),
    (r"\b(say something|tell (someone|somebody|anyone|headteacher|my line manager|colleague)|let (someone|somebody|"
     r"headteacher) know|speak up|flag it|raise it)\b", "report"),
    # Everyday school words that look like policy words but are not about going online.
    (r"\b(share|sharing|give|giving|offer|offering) (a |me a |him a |her a )?lifts?\b", "carshare"),
    (r"\b(reading|maths|phonics|spelling|intervention|ability|guided reading|table|focus) groups?\b", "setgroup"),
    (r"\badd( \w+){1,3} to (my|the|our|a|his|her)( \w+)? (group|list|register|table|team|set|rota|"
     r"setgroup)\b", "assign"),
    (r"\b(take|bring|borrow|taking|bringing|borrowing)( \w+){0,3} (laptop|ipad|device|computer|tablet|"
     r"chromebook)s? home\b", "borrowkit"),
)

# Single words folded to one spelling: text-speak, typos, US spellings and plain synonyms.
_PHRASES_RE: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), r) for p, r in _PHRASES)

_SYNONYMS: dict[str, str] = {
    # platforms (LinkedIn stays apart: professional networking is treated differently)
    **dict.fromkeys(("fb", "facebook", "insta", "instagram", "ig", "snap", "snapchat", "sc", "tiktok", "tik",
                     "twitter", "tweet", "tweets", "tweeted", "tweeting", "x", "whatsapp", "messenger", "discord",
                     "bereal", "threads", "mastodon", "youtube", "yt", "telegram", "reddit", "bluesky",
                     "socials", "social", "socialmedia", "facebok", "fbook"), "socialmedia"),
    **dict.fromkeys(("kid", "kids", "child", "children", "pupil", "pupils", "student", "students", "learner",
                     "learners", "youngster", "youngsters", "boy", "boys", "girl", "girls", "schoolkid", "minor",
                     "minors", "chld", "stud", "yr"), "pupil"),
    **dict.fromkeys(("mum", "mums", "mom", "moms", "mommy", "mummy", "mother", "dad", "dads", "father",
                     "parent", "parents", "carer", "carers", "guardian", "guardians", "caregiver", "grandparent",
                     "grandparents", "nan", "stepmum", "stepdad"), "parent"),
    **dict.fromkeys(("colleague", "colleagues", "coworker", "coworkers", "workmate", "workmates", "ta", "tas", "slt",
                     "smt",
                     "collegue", "colleges", "colleage"), "colleague"),
    **dict.fromkeys(("friend", "friends", "add", "added", "adding", "follow", "follows", "followed", "following",
                     "connect", "connected", "connecting", "connection", "befriend", "frend", "freind", "fren",
                     "friended", "friending", "unfollow"), "friend"),
    **dict.fromkeys(("text", "texts", "texting", "texted", "txt", "msg", "msgs", "message", "messages",
                     "messaged", "messaging", "dm", "dms", "dmed", "dmd", "pm", "chat", "chats", "chatting", "inbox",
                     "sms", "mesage", "massage"), "message"),
    **dict.fromkeys(("mob", "mobile", "mobiles", "cell", "cellphone", "phone", "phones", "iphone", "ring",
                     "call", "calls", "calling", "phoned", "rang", "smartphone", "fone"), "phone"),
    **dict.fromkeys(("pic", "pics", "picture", "pictures", "photo", "photos", "foto", "fotos", "photograph",
                     "photographs", "image", "images", "selfie", "selfies", "vid", "vids", "video", "videos",
                     "clip", "clips", "footage", "film", "filmed", "snaps", "piccy", "photoes", "pix"), "photo"),
    **dict.fromkeys(("email", "emails", "emailed", "emailing", "mail", "e"), "email"),
    **dict.fromkeys(("post", "posts", "posted", "posting", "upload", "uploaded", "uploading", "publish",
                     "published", "share", "shared", "sharing", "put", "putting"), "post"),
    **dict.fromkeys(("delete", "deleted", "deleting", "remove", "removing", "erase", "bin"), "delete"),
    **dict.fromkeys(("reply", "replies", "replied", "replying", "respond", "responding", "answer", "comeback",
                     "argue", "arguing", "defend", "retaliate"), "reply"),
    **dict.fromkeys(("nude", "nudes", "naked", "topless", "sext", "sexts", "sexting", "undressed"), "nude"),
    **dict.fromkeys(("indecent", "sexual", "sexualised", "sexualized", "explicit", "porn", "pornographic",
                     "sexy"), "indecent"),
    **dict.fromkeys(("laptop", "laptops", "ipad", "ipads", "tablet", "tablets", "computer", "computers", "pc",
                     "device", "devices", "chromebook"), "device"),
    **dict.fromkeys(("own", "personal", "private"), "personal"),
    **dict.fromkeys(("abuse", "abusive", "abused", "nasty", "horrible", "hateful", "hate", "trolling", "troll",
                     "trolled", "trolls", "harass", "harassed", "harassing", "harassment", "insult", "insulting",
                     "insults"), "abuse"),
    **dict.fromkeys(("bully", "bullying", "bullied", "bullies", "cyberbully", "cyberbullying",
                     "cyberbullied", "bulling"), "bullying"),
    **dict.fromkeys(("criticise", "criticize", "criticising", "criticizing", "moan", "moaning", "complain",
                     "complaining", "rant", "ranting", "whinge", "diss", "slate", "slating"), "criticise"),
    **dict.fromkeys(("threat", "threats", "threaten", "threatened", "threatening", "menacing"), "threat"),
    **dict.fromkeys(("hacked", "hack", "hacker", "hacking", "phishing", "phish", "scam", "scammed",
                     "dodgy", "suspicious", "impersonating", "pretending", "compromised"), "hacked"),
    **dict.fromkeys(("website", "site", "webpage", "web"), "website"),
    **dict.fromkeys(("password", "passwords", "login", "logins", "pin", "passcode", "pw", "pwd"), "password"),
    **dict.fromkeys(("angry", "furious", "irate", "livid", "raging", "fuming", "aggressive", "hostile"), "angry"),
    **dict.fromkeys(("ivf", "pregnant", "pregnancy", "illness", "ill", "cancer", "surgery", "operation",
                     "miscarriage", "diagnosis", "diagnosed", "depression", "anxiety", "divorce", "health"),
                    "health"),
    **dict.fromkeys(("badly", "rubbish", "awful", "terrible", "useless", "shambles", "incompetent"), "criticise"),
    **dict.fromkeys(("repeated", "repeatedly", "bombard", "bombarding", "spam", "spamming", "pester", "pestering",
                     "hound", "hounding"), "repeated"),
    "colour": "colour", "color": "colour", "organization": "organisation", "organisation": "organisation",
    "monitored": "monitor", "monitoring": "monitor", "watched": "monitor", "tracked": "monitor",
    "plz": "please", "pls": "please", "u": "you", "ur": "your", "r": "are", "im": "i", "cos": "because",
    "coz": "because", "bc": "because", "wat": "what", "wot": "what", "gonna": "going", "wanna": "want",
    "linkedin": "linkedin", "yeah": "yes", "alright": "ok", "okay": "ok", "k": "ok",
}

_STOPWORDS: frozenset[str] = frozenset(
    "a an the to of on in at is it its ok be been being do does did doing should would could can cant may might "
    "must shall will i me my mine myself we us our you your yours he him his she her hers they them their theirs "
    "this that these those there here what which who whom whose when where why how am are was were if then than "
    "for with and or but so as by from about into up out just still any some also really very please yes no not "
    "dont doesnt isnt wont allowed allow okay fine alright is it im ive id go get got one thing things stuff "
    "someone somebody anyone anybody something anything ever even too now then like want wants need needs "
    "because going know think able let lets because whether am other each".split()
)

# A question must touch at least one of these to be about the policy at all; "can I have a pay rise" does not.
_ANCHORS: frozenset[str] = frozenset({
    "socialmedia", "linkedin", "photo", "message", "email", "schoolemail", "personalemail", "phone", "phonenumber",
    "friend", "post", "online", "internet", "website", "password", "hacked", "abuse", "bullying", "threat", "nude",
    "indecent", "restrictedlist", "comment", "profile", "profilepic", "account", "device", "privacy", "monitor",
    "retweet", "screenshot", "esafety", "forum", "blog", "app", "page", "groupchat", "endorse", "endorsement",
    "contact", "letter", "schooltrip", "workplace", "schoolview", "expupil", "mumsnet", "unofficial", "newapp",
    "server", "network", "login", "evidence", "safeguard", "safeguarding", "welfare", "concern", "worry",
    "counsel", "counselling", "harass", "troll", "disrepute", "reputation", "policy", "platform", "publish",
    "reference", "sportsday", "prospectus", "newsletter", "brochure", "address", "number", "tiktok", "whatsapp",
    "schoolphone", "inbound", "parentsgroup", "otherschool",
})
# Who the question is about; a rule about someone else is marked down.
_ENTITIES: frozenset[str] = frozenset({"pupil", "expupil", "parent", "colleague", "staffparent"})
_ENTITY_PENALTY = 0.55
# A rule that only fits when the question has one of these words (a "yes" that must not be given by accident).
_REQUIRES: dict[str, frozenset[str]] = {
    "personal-device-not-required": frozenset({"obligation"}),
    # Contacting parents from a trip needs parents in the question; the school's accounts on a trip are another rule.
    "parent-school-trip-contact": frozenset({"parent"}),
    # Using the school address for a personal account, not writing to someone from it.
    "school-email-personal-accounts": frozenset({"socialmedia", "account", "sign", "signup", "register", "linkedin",
                                                 "profile", "app"}),
}
# Two rules told apart only by which channel is used: when the question names neither, both are offered.
_CHANNEL_SPLITS: tuple[tuple[str, str, frozenset[str], frozenset[str]], ...] = (
    ("pupil-personal-phone-email", "pupil-school-email", frozenset({"email"}),
     frozenset({"schoolemail", "personalemail", "personal", "phone", "phonenumber", "schoolphone", "socialmedia",
                "facetoface"})),
    ("parent-personal-phone-email", "parent-formal-channels", frozenset({"email", "phone"}),
     frozenset({"schoolemail", "personalemail", "personal", "phonenumber", "schoolphone", "socialmedia",
                "letter", "schooltrip", "office"})),
)
# A rule that does not fit when the question has one of these words (a group chat is contact, not a class page).
_EXCLUDES: dict[str, frozenset[str]] = {
    "new-class-account": frozenset({"groupchat", "message"}),
    # An ex-pupil now at another school is a pupil of that school: no contact at all, not just advice against.
    "ex-pupil-social-media": frozenset({"otherschool"}),
}
_CHILD_TERMS = frozenset({"pupil", "expupil"})
_SEXUAL_TERMS = frozenset({"nude", "indecent"})
_IMAGE_TERMS = frozenset({"photo", "nude", "screenshot"})


def _stem(word: str) -> str:
    """A light stemmer: enough to fold plurals and -ing/-ed forms together."""
    if len(word) <= 3 or word.isdigit():
        return word
    for suffix, repl, min_len in (("ies", "y", 5), ("ing", "", 6), ("ed", "", 5), ("es", "", 6), ("s", "", 4)):
        if word.endswith(suffix) and len(word) >= min_len and not word.endswith("ss"):
            return word[: len(word) - len(suffix)] + repl
    return word


def _clean(text: str) -> str:
    """Lower-case, drop apostrophes, turn other punctuation into spaces and fold phrases."""
    text = text.lower().replace("'", "").replace("\u2019", "").replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text)
    text = re.sub(r"\b(\w+)ization\b", r"\1isation", text)
    for pattern, replacement in _PHRASES_RE:
        folded = pattern.sub(f" {replacement} ", text)
        if folded != text:
            text = " ".join(folded.split())
    return text


@dataclass
class Answer:
    """What the matcher found for one question."""

    question: str
    verdict: str
    rule: Rule | None
    confidence: float
    status: str
    candidates: list[Rule] = field(default_factory=list)
    matched_terms: list[str] = field(default_factory=list)
    reason: str = ""

    def explain(self) -> str:
        """Why this answer: the rule, the status and the words that matched."""
        if self.rule is None:
            return f"No rule matched well enough ({self.reason or 'out of scope'}); confidence {self.confidence:.2f}."
        terms = ", ".join(self.matched_terms) or "none"
        text = (f"Matched rule {self.rule.id!r} ({self.status}, confidence {self.confidence:.2f}) "
                f"on terms: {terms}.")
        if self.reason:
            text += f" {self.reason}."
        if self.status == "ambiguous" and len(self.candidates) > 1:
            text += " Also close: " + ", ".join(rule.id for rule in self.candidates[1:]) + "."
        return text

    def to_json(self, policy: PolicyDocument) -> dict[str, object]:
        """The answer as the JSON the bot and the `check` command give out."""
        rule = self.rule
        return {
            "verdict": self.verdict,
            "rule": rule.id if rule else None,
            "situation": rule.situation if rule else None,
            "quote": rule.quote_text if rule else None,
            "section": rule.section if rule else None,
            "policy_version": policy.version_label,
            "next_step": rule.next_step if rule else (
                "The policy does not cover this. Ask your line manager or the Head Teacher."),
        }


class Matcher:
    """Scores a question against every rule with TF-IDF over words and word pairs."""

    def __init__(self, rulebook: RuleBook) -> None:
        self.rulebook = rulebook
        self._rules = rulebook.rules
        self._fix_cache: dict[str, str | None] = {}
        surface: set[str] = set(_SYNONYMS)
        for rule in self._rules:
            for text in (rule.situation, *rule.examples, *rule.keywords):
                surface.update(_clean(text).split())
        self._surface = sorted(w for w in surface if len(w) >= 3 and w not in _STOPWORDS)
        self._surface_set = frozenset(surface)
        # Rule-level documents and per-example documents.
        rule_feats: list[Counter[str]] = []
        example_feats: list[tuple[int, Counter[str]]] = []
        for index, rule in enumerate(self._rules):
            whole: Counter[str] = Counter()
            for text in (rule.situation, *rule.examples, *rule.keywords, *rule.keywords):
                whole.update(self._features(text, learning=True))
            rule_feats.append(whole)
            for text in (rule.situation, *rule.examples):
                example_feats.append((index, Counter(self._features(text, learning=True))))
        count = len(rule_feats)
        df: Counter[str] = Counter()
        for feats in rule_feats:
            df.update(feats.keys())
        self._idf = {f: math.log((count + 1) / (n + 0.5)) for f, n in df.items()}
        self._oov_weight = math.log((count + 1) / 1.5) * 0.7
        self._rule_vecs = [self._weigh(feats) for feats in rule_feats]
        self._example_vecs = [(index, self._weigh(feats)) for index, feats in example_feats]
        self._rule_index = self._invert(self._rule_vecs)
        self._example_index = self._invert([vec for _, vec in self._example_vecs])
        self._by_id = {rule.id: i for i, rule in enumerate(self._rules)}
        self._rule_entities = [
            frozenset(t for text in (rule.situation, *rule.keywords) for t in self._tokens(text, True)) & _ENTITIES
            for rule in self._rules]

    # ----- text to features
    def _tokens(self, text: str, learning: bool = False) -> list[str]:
        """Canonical tokens: synonyms folded, typos fixed, stop words gone, lightly stemmed."""
        out: list[str] = []
        for word in _clean(text).split():
            if word in _STOPWORDS or (word.isdigit() and len(word) < 4):
                continue
            if not learning and word not in self._surface_set:
                word = self._fix(word) or word
            word = _SYNONYMS.get(word, word)
            if word in _STOPWORDS:
                continue
            stemmed = _stem(word)
            out.append(_SYNONYMS.get(stemmed, stemmed))
        return out

    def _fix(self, word: str) -> str | None:
        """The closest known word to a misspelt one, or None."""
        if len(word) < 4 or word.isdigit():
            return None
        if word not in self._fix_cache:
            # Typos keep their first letter; without this "string" became "ring" and "told" became "old".
            pool = [w for w in self._surface if w[0] == word[0]]
            close = difflib.get_close_matches(word, pool, n=1, cutoff=0.84)
            self._fix_cache[word] = close[0] if close else None
        return self._fix_cache[word]

    def _features(self, text: str, learning: bool = False) -> list[str]:
        """Words plus neighbouring word pairs."""
        tokens = self._tokens(text, learning)
        return tokens + [f"{a}_{b}" for a, b in zip(tokens, tokens[1:], strict=False) if a != b]

    def _weigh(self, feats: Counter[str]) -> dict[str, float]:
        """A unit-length TF-IDF vector."""
        vec = {f: (1 + math.log(n)) * self._idf.get(f, 0.0) for f, n in feats.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items() if v > 0}

    @staticmethod
    def _invert(vectors: list[dict[str, float]]) -> dict[str, list[tuple[int, float]]]:
        """Feature to (document, weight) postings for fast scoring."""
        index: dict[str, list[tuple[int, float]]] = {}
        for i, vec in enumerate(vectors):
            for f, w in vec.items():
                index.setdefault(f, []).append((i, w))
        return index

    def _query_vector(self, feats: list[str]) -> dict[str, float]:
        """The question as a unit vector; unknown single words still count, so off-topic questions score low."""
        counts = Counter(feats)
        vec: dict[str, float] = {}
        for f, n in counts.items():
            if f in self._idf:
                vec[f] = (1 + math.log(n)) * self._idf[f]
            elif "_" not in f:
                vec[f] = self._oov_weight
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        return {f: v / norm for f, v in vec.items()}

    # ----- answering
    def answer(self, question: str) -> Answer:
        """The best rule for a question, or `unknown` when the policy does not clearly cover it."""
        feats = self._features(question)
        tokens = {f for f in feats if "_" not in f}
        if not tokens:
            return Answer(question, "unknown", None, 0.0, "unknown", reason="no words to match")
        safety = self._safety_rule(tokens)
        qvec = self._query_vector(feats)
        rule_scores = [0.0] * len(self._rules)
        for f, w in qvec.items():
            for i, dw in self._rule_index.get(f, ()):
                rule_scores[i] += w * dw
        best_example = [0.0] * len(self._rules)
        example_scores: dict[int, float] = {}
        for f, w in qvec.items():
            for j, dw in self._example_index.get(f, ()):
                example_scores[j] = example_scores.get(j, 0.0) + w * dw
        for j, score in example_scores.items():
            i = self._example_vecs[j][0]
            if score > best_example[i]:
                best_example[i] = score
        scores = [0.5 * r + 0.5 * e for r, e in zip(rule_scores, best_example, strict=True)]
        asked_about = tokens & _ENTITIES
        if asked_about:
            for i, entities in enumerate(self._rule_entities):
                if entities and not entities & asked_about:
                    scores[i] *= _ENTITY_PENALTY
        for rule_id, needed in _REQUIRES.items():
            if rule_id in self._by_id and not tokens & needed:
                scores[self._by_id[rule_id]] = 0.0
        for rule_id, unwanted in _EXCLUDES.items():
            if rule_id in self._by_id and tokens & unwanted:
                scores[self._by_id[rule_id]] = 0.0
        order = sorted(range(len(scores)), key=lambda i: (-scores[i], self._rules[i].id))
        if safety is not None:
            i = self._by_id[safety]
            return Answer(question, self._rules[i].verdict, self._rules[i], round(max(scores[i], 0.9), 3),
                          "answered", [self._rules[i]], self._matched(qvec, i),
                          "safety rule: always answered by this rule")
        top = order[0]
        best = scores[top]
        if not tokens & _ANCHORS:
            return Answer(question, "unknown", None, round(best, 3), "unknown",
                          reason="the question is not about social media, messages, images or accounts")
        if best < UNKNOWN_BELOW:
            return Answer(question, "unknown", None, round(best, 3), "unknown",
                          [self._rules[i] for i in order[:3] if scores[i] >= UNKNOWN_BELOW * 0.6],
                          reason="no rule matched well enough")
        close = [i for i in order[1:3] if scores[i] >= best - AMBIGUOUS_MARGIN
                 and self._rules[i].verdict != self._rules[top].verdict]
        partner = self._channel_partner(tokens, scores, top)
        split = (top, partner) if partner is not None else ()
        if partner is not None and partner not in close:
            close.append(partner)
            order = [top, partner] + [i for i in order if i not in (top, partner)]
        status = "ambiguous" if close else "answered"
        stricter = [i for i in close if _STRICTNESS[self._rules[i].verdict] < _STRICTNESS[self._rules[top].verdict]]
        if stricter:
            # In doubt between two verdicts, lead with the stricter rule: a wrong "yes" costs most.
            top = min(stricter, key=lambda i: (_STRICTNESS[self._rules[i].verdict], -scores[i]))
            order = [top] + [i for i in order if i != top]
        candidates = [self._rules[top]] + [self._rules[i] for i in order[1:3] if scores[i] >= best * 0.75]
        if status == "ambiguous" and len(candidates) < 2:
            candidates.append(self._rules[order[1]])
        if partner is not None:
            # Both channels are always offered, whichever of them leads.
            for i in split:
                if self._rules[i] not in candidates:
                    candidates.insert(1, self._rules[i])
            candidates = candidates[:3]
        confidence = min(1.0, best / 0.6)
        if status == "ambiguous":
            confidence *= 0.7
        return Answer(question, self._rules[top].verdict, self._rules[top], round(confidence, 3), status,
                      candidates if status == "ambiguous" else [self._rules[top]], self._matched(qvec, top))

    def _channel_partner(self, tokens: set[str], scores: list[float], top: int) -> int | None:
        """The other rule of a channel split when the question does not say which channel ("email a pupil")."""
        for first, second, triggers, qualifiers in _CHANNEL_SPLITS:
            if first not in self._by_id or second not in self._by_id:
                continue
            pair = (self._by_id[first], self._by_id[second])
            if top not in pair or not tokens & triggers or tokens & qualifiers:
                continue
            other = pair[1] if top == pair[0] else pair[0]
            # The stricter rule is always offered; the more permissive one only when it is in the running.
            if other == pair[0] or scores[other] >= UNKNOWN_BELOW * 0.5:
                return other
        return None

    def _safety_rule(self, tokens: set[str]) -> str | None:
        """Indecent images of a child, or a child on the restricted list, always get their own rule."""
        if _INDECENT_RULE in self._by_id and tokens & _SEXUAL_TERMS and (
                tokens & _CHILD_TERMS or "nude" in tokens) and (tokens & _IMAGE_TERMS or "nude" in tokens):
            return _INDECENT_RULE
        if _RESTRICTED_RULE in self._by_id and "restrictedlist" in tokens:
            return _RESTRICTED_RULE
        return None

    def _matched(self, qvec: dict[str, float], rule_index: int) -> list[str]:
        """The question's terms that the rule shares, strongest first."""
        vec = self._rule_vecs[rule_index]
        shared = sorted((f for f in qvec if f in vec), key=lambda f: (-qvec[f] * vec[f], f))
        return [f.replace("_", " ") for f in shared]
