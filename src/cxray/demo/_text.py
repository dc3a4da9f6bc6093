"""Phrase banks and vectorized composers for the demo world's free text.

Survey comments, case subjects and descriptions and social mentions are put
together from short phrases chosen by topic and sentiment, so that their
words follow what happened to the customer: a late parcel gives a complaint
about late delivery, a case solved at first contact gives praise for the
agent. A template may hold alternatives, ``"arrived {two|three} days late"``,
which are expanded when the bank is built.

Composition is vectorized: each part of a text is one ``take`` from a bank's
Arrow array and the parts are joined element-wise, so a million comments cost
about as much as a few numpy operations.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxray.demo._arrow import join

__all__ = [
    "COARSE_TOPIC",
    "LANGUAGES",
    "NEG",
    "NEU",
    "POS",
    "TOPICS",
    "Bank",
    "agent_names",
    "case_descriptions",
    "case_subjects",
    "comment_texts",
    "expand",
    "mention_texts",
    "person_names",
]

NEG, NEU, POS = 0, 1, 2
LANGUAGES = ("en", "es", "fr")

#: comment and mention topics; the index is the topic code used by the simulation
TOPICS = (
    "late_delivery",
    "delivery_experience",
    "helpful_support",
    "slow_support",
    "repeat_contact",
    "product_quality",
    "product_defect",
    "thermostat_fault",
    "price_value",
    "website_app",
    "returns",
    "billing",
    "product_range",
    "general",
)
T = {name: i for i, name in enumerate(TOPICS)}

#: topic -> coarse topic of the smaller non-English banks
_COARSE = ("delivery", "support", "product", "price", "other")
COARSE_TOPIC = np.array(
    [0, 0, 1, 1, 1, 2, 2, 2, 3, 4, 4, 3, 4, 4],
    dtype=np.int64,
)

_ALT = re.compile(r"\{([^{}]*)\}")


def expand(template: str) -> list[str]:
    """All the phrasings of a template: ``"a {b|c}"`` gives ``["a b", "a c"]``."""
    pieces = _ALT.split(template)
    options = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(pieces)]
    return ["".join(combo) for combo in itertools.product(*options)]


class Bank:
    """Phrases in groups addressed by an integer key; one Arrow array holds them all.

    The last element of :attr:`values` is the empty string, the pick for a part
    that a text leaves out.
    """

    def __init__(self, groups: Sequence[Sequence[str]]) -> None:
        flat: list[str] = []
        starts, sizes = [], []
        for group in groups:
            phrases = list(dict.fromkeys(p for t in group for p in expand(t)))
            if not phrases:
                raise ValueError("a phrase group is empty")
            starts.append(len(flat))
            sizes.append(len(phrases))
            flat.extend(phrases)
        self.empty = len(flat)
        flat.append("")
        self.values = pa.array(flat, pa.string())
        self.start = np.asarray(starts, dtype=np.int64)
        self.size = np.asarray(sizes, dtype=np.int64)

    def __len__(self) -> int:
        return self.empty

    def pick(
        self, rng: np.random.Generator, keys: np.ndarray, keep: np.ndarray | None = None
    ) -> np.ndarray:
        """One random phrase index per key; the empty phrase where ``keep`` is False."""
        keys = np.asarray(keys, dtype=np.int64)
        idx = self.start[keys] + (rng.random(len(keys)) * self.size[keys]).astype(np.int64)
        if keep is not None:
            idx = np.where(keep, idx, self.empty)
        return idx

    def draw(
        self, rng: np.random.Generator, keys: np.ndarray, keep: np.ndarray | None = None
    ) -> pa.Array:
        return self.values.take(pa.array(self.pick(rng, keys, keep)))


def _grid(cells: dict[tuple[int, int], list[str]], rows: int, cols: int) -> list[list[str]]:
    return [cells[(r, c)] for r in range(rows) for c in range(cols)]


# ---------------------------------------------------------------- English survey comments

_OPENERS = {
    NEG: [
        "Really disappointed.",
        "Not happy at all.",
        "Very frustrating experience.",
        "Honestly, this was poor.",
        "Where do I even start.",
        "{Not impressed|Unimpressed}.",
        "I expected {better|much better} from Hearthwell.",
        "This is the {second|third} time this has happened.",
        "Terrible experience this time.",
        "Sorry, but this was {bad|awful}.",
        "I'm {fed up|really annoyed}.",
        "Quite let down, to be honest.",
    ],
    NEU: [
        "It was okay.",
        "Mixed feelings.",
        "Overall fine, with some issues.",
        "Not bad, not great.",
        "Decent experience overall.",
        "It's alright.",
        "Average, I'd say.",
        "Some good, some bad.",
        "Fine for the most part.",
        "Nothing special.",
    ],
    POS: [
        "Great experience!",
        "Really happy.",
        "Very pleased.",
        "Excellent, as always.",
        "{Love|Loved} it.",
        "Couldn't be happier.",
        "Fantastic service.",
        "Brilliant.",
        "Thank you!",
        "Five stars from me.",
        "Super happy with this.",
        "Top notch.",
    ],
}

_CLOSERS = {
    NEG: [
        "I'll think twice before ordering again.",
        "Please sort this out.",
        "Considering switching to another store.",
        "Not good enough.",
        "I won't recommend you until this is fixed.",
        "Very poor.",
        "Do better.",
        "I've already told my friends to shop elsewhere.",
        "{Fix|Sort out} your process.",
        "Last order from me for a while.",
    ],
    NEU: [
        "Could be better.",
        "Room for improvement.",
        "Hope it improves.",
        "Would probably order again.",
        "It did the job.",
        "We'll see next time.",
        "Still a decent shop overall.",
    ],
    POS: [
        "Will definitely order again.",
        "Highly recommend.",
        "Keep up the good work!",
        "I've already recommended you to friends.",
        "Thanks again!",
        "My go-to store now.",
        "Will be back for sure.",
        "10/10.",
        "Great job, team.",
    ],
}

_CORES: dict[tuple[int, int], list[str]] = {
    (T["late_delivery"], NEG): [
        "My {order|parcel|package} arrived {two|three|four|five} days late.",
        "Delivery was {late|late again} and nobody told me.",
        "The delivery date kept {slipping|changing} and I had to chase it.",
        "I took a day off to wait for the delivery and it never came.",
        "Paid for {express|next-day} delivery and it still came late.",
        "Tracking said out for delivery for {three days|days} straight.",
        "The {order|parcel} was over a week late.",
        "It arrived well after the promised date.",
        "The promised delivery date was {completely missed|missed by days}.",
    ],
    (T["late_delivery"], NEU): [
        "Delivery was a {bit|little} late but the {product|item} is fine.",
        "Arrived a {day|couple of days} later than promised.",
        "The order came late, otherwise no complaints.",
        "Shipping took longer than the estimate.",
    ],
    (T["late_delivery"], POS): [
        "Delivery was a day late, but {the team kept me updated|customer service kept me "
        "informed}.",
        "Even though it arrived late, the {product|item} is great.",
        "A small delay in delivery, but they {apologized|said sorry} and sorted it quickly.",
    ],
    (T["delivery_experience"], NEG): [
        "The courier left the parcel {outside in the rain|at the wrong door}.",
        "The box arrived {dented|crushed} and the driver was rude.",
        "The delivery window was {four|eight} hours wide, which is useless.",
    ],
    (T["delivery_experience"], NEU): [
        "Delivery was on time, nothing more to say.",
        "Arrived when promised.",
        "Standard delivery, {no issues|no surprises}.",
    ],
    (T["delivery_experience"], POS): [
        "Delivery was {super|really} fast.",
        "Arrived {the next day|a day early|earlier than expected}.",
        "The {driver|courier} was friendly and careful.",
        "Ordered in the morning, {delivered the next day|on my doorstep the next day}.",
        "Tracking was accurate and the parcel came exactly when they said.",
        "{Fast|Quick} and reliable delivery as always.",
    ],
    (T["helpful_support"], NEG): [
        "The agent was polite but couldn't actually help.",
        "Support {was friendly but|meant well but} nothing got fixed.",
    ],
    (T["helpful_support"], NEU): [
        "Support answered my question eventually.",
        "The agent was okay and the issue is mostly resolved.",
        "Got an answer, although it took a bit of explaining.",
    ],
    (T["helpful_support"], POS): [
        "{The agent|The person I spoke to|Your colleague|The support person} was "
        "{incredibly|really|so} helpful.",
        "Support fixed my problem in {minutes|no time|one go}.",
        "The support team {went above and beyond|was fantastic|was friendly and knew their stuff}.",
        "My issue was resolved {on the first contact|straight away|without any back and forth}.",
        "Quick, friendly and {knowledgeable|competent} support.",
        "They {listened|understood the problem} and sorted it immediately.",
    ],
    (T["slow_support"], NEG): [
        "It took {three|four|five} days to get a reply to my email.",
        "Nobody answered my email for {days|almost a week}.",
        "Waiting days for a response is not acceptable.",
        "I sent {two|three} emails before anyone replied.",
        "Support is {painfully|incredibly} slow.",
        "Your email support {takes forever|is far too slow}.",
        "I'm still waiting for an answer from customer service.",
    ],
    (T["slow_support"], NEU): [
        "Support got there in the end, but it took a while.",
        "The reply was slow but helpful.",
        "Response times could be quicker.",
    ],
    (T["slow_support"], POS): [
        "Took a while to hear back, but the answer {was spot on|solved it}.",
        "Slow reply, but they were very thorough.",
    ],
    (T["repeat_contact"], NEG): [
        "I had to contact you {three|four|several} times about the same issue.",
        "Every time I {called|wrote}, I had to explain everything again.",
        "Got passed from one agent to another.",
        "The issue was marked resolved but it wasn't, so I had to reopen it.",
        "Nobody takes ownership, I keep getting different answers.",
        "Had to chase {again and again|repeatedly} to get this fixed.",
    ],
    (T["repeat_contact"], NEU): [
        "It took {two|a couple of} contacts to get it sorted.",
        "Needed to follow up once, but it's fixed now.",
    ],
    (T["repeat_contact"], POS): [
        "It took a follow-up, but the second agent sorted it perfectly.",
    ],
    (T["product_quality"], NEG): [
        "The quality is {poor|not what I expected} for the price.",
        "The {material|finish} feels cheap.",
        "It {looks|looked} nothing like the pictures.",
        "Broke after {a few weeks|two months} of normal use.",
        "The {sofa|chair|table} {wobbles|is already scratched}.",
    ],
    (T["product_quality"], NEU): [
        "The product is fine, {does what it says|nothing special}.",
        "Quality is okay for the price.",
        "Decent product, a few small flaws.",
    ],
    (T["product_quality"], POS): [
        "The {quality|build quality} is {excellent|superb|great}.",
        "{Exactly|Just} as described and {beautifully|really well} made.",
        "Love the {sofa|headphones|coffee machine|lamp|desk|blender}.",
        "The product is even better than I expected.",
        "Great quality products, every time.",
    ],
    (T["product_defect"], NEG): [
        "It {stopped working|died} after {two weeks|a month|a few days}.",
        "The {item|device} arrived faulty.",
        "{Some parts|The screws|The power cable} {were|was} missing from the box.",
        "The {app|software} keeps crashing and the device won't connect.",
        "Dead on arrival, wouldn't even switch on.",
    ],
    (T["product_defect"], NEU): [
        "Had a faulty unit, the replacement is working so far.",
        "The first one was defective, the second one seems fine.",
    ],
    (T["product_defect"], POS): [
        "Mine was faulty but they sent a replacement {right away|within two days}.",
        "Had a defect, but the warranty process was painless.",
    ],
    (T["thermostat_fault"], NEG): [
        "My Glow 2 thermostat {died|shut down} because of the battery.",
        "The Glow 2 battery {swelled up|overheated} after {a week|two weeks}.",
        "The Glow 2 thermostat keeps {rebooting|losing power}, the heating went off overnight.",
        "The new thermostat's battery {drains|dies} in a day.",
        "My Glow 2 is {completely dead|unusable} and I have no heating control.",
        "There is clearly a battery problem with the Glow 2 thermostats.",
    ],
    (T["thermostat_fault"], NEU): [
        "The Glow 2 had a battery issue, waiting for a replacement.",
        "The thermostat battery failed, a replacement is on the way.",
    ],
    (T["thermostat_fault"], POS): [
        "The Glow 2 battery failed, but they replaced it {within two days|the same week} "
        "without any hassle.",
        "The thermostat had a battery fault, support handled the swap brilliantly.",
    ],
    (T["price_value"], NEG): [
        "{Prices|Your prices} have gone up {a lot|too much}.",
        "{Far too|Way too} expensive compared to other shops.",
        "Delivery fees are {ridiculous|too high}.",
        "{Found|Saw} the same item {cheaper|much cheaper} elsewhere.",
        "The Plus membership isn't worth the money.",
    ],
    (T["price_value"], NEU): [
        "Prices are {okay|fair}, not the cheapest.",
        "Reasonable prices, though shipping costs add up.",
    ],
    (T["price_value"], POS): [
        "Great {value for money|prices}.",
        "The {sales|deals|discounts} are {fantastic|really good}.",
        "Free delivery with Plus is {brilliant|worth every cent}.",
        "Good prices {and|with} great quality.",
    ],
    (T["website_app"], NEG): [
        "The {app|website} {keeps crashing|is so slow|logged me out} at checkout.",
        "Payment {failed|was declined} {twice|three times} for no reason.",
        "Couldn't find the {order history|tracking page|returns form} anywhere.",
        "The search on the website is useless.",
        "Checkout is {confusing|far too long}.",
    ],
    (T["website_app"], NEU): [
        "The {app|website} works, but {it's a bit clunky|it could be faster}.",
        "Checkout was fine, search could be better.",
    ],
    (T["website_app"], POS): [
        "The {app|website} is {really|super} easy to use.",
        "Checkout took {less than a minute|seconds}.",
        "Love the new app, {tracking|reordering} is so easy.",
        "Easy to find what I needed.",
    ],
    (T["returns"], NEG): [
        "The return process is {a nightmare|far too complicated}.",
        "Still waiting for my refund after {three|four} weeks.",
        "They {refused|rejected} my return for no good reason.",
        "I had to pay to send back a {faulty|wrong} item.",
    ],
    (T["returns"], NEU): [
        "Returning the item was okay, the refund took a while.",
        "The return worked, but the label was hard to find.",
    ],
    (T["returns"], POS): [
        "Returns are {so easy|painless}, the refund came in {two days|a few days}.",
        "Free and easy returns, {no questions asked|no hassle}.",
    ],
    (T["billing"], NEG): [
        "I was charged {twice|two times} for the same order.",
        "My invoice {was wrong|had the wrong amount}.",
        "The discount code didn't apply and nobody would fix it.",
        "{Charged|Billed} for a membership I cancelled.",
    ],
    (T["billing"], NEU): [
        "There was a billing mix-up but it was corrected.",
        "The invoice was wrong at first, fixed after I asked.",
    ],
    (T["billing"], POS): [
        "They fixed the billing error {immediately|straight away} and refunded the difference.",
    ],
    (T["product_range"], NEG): [
        "Everything I wanted was out of stock.",
        "Half the things I wanted were out of stock.",
        "The range has gotten smaller.",
        "Items {disappear|go out of stock} too quickly.",
    ],
    (T["product_range"], NEU): [
        "Good range, but popular items sell out.",
        "The selection is decent.",
    ],
    (T["product_range"], POS): [
        "{Huge|Great|Fantastic} selection of products.",
        "You always have what I need in stock.",
        "Great range of {furniture|kitchen gear|electronics|home stuff}.",
    ],
    (T["general"], NEG): [
        "The whole experience was {poor|a mess}.",
        "Things have gotten worse lately.",
        "The customer experience is {not what it used to be|going downhill}.",
    ],
    (T["general"], NEU): [
        "{Fine|Okay} overall.",
        "Does the job.",
        "Nothing to complain about, nothing to rave about.",
    ],
    (T["general"], POS): [
        "Always a {great|pleasant} experience.",
        "Hearthwell {never disappoints|is my favorite shop}.",
        "Everything was {perfect|smooth|easy}.",
        "{Reliable|Consistent} and friendly, that's why I keep coming back.",
    ],
}

#: topics a comment may add as a second, unrelated remark, by sentiment
_SECOND = {
    NEG: [
        T["price_value"],
        T["website_app"],
        T["product_range"],
        T["general"],
        T["product_quality"],
    ],
    NEU: [
        T["price_value"],
        T["website_app"],
        T["product_range"],
        T["general"],
        T["delivery_experience"],
        T["product_quality"],
    ],
    POS: [
        T["price_value"],
        T["website_app"],
        T["product_range"],
        T["general"],
        T["delivery_experience"],
        T["product_quality"],
    ],
}

# ---------------------------------------------------------------- other languages

_FOREIGN: dict[str, dict[tuple[int, int], list[str]]] = {
    "es": {
        (0, NEG): [
            "El pedido llegó {tres|cuatro|cinco} días tarde.",
            "La entrega se retrasó y nadie me avisó.",
            "Pagué envío exprés y aun así llegó tarde.",
        ],
        (0, NEU): [
            "La entrega tardó un poco más de lo prometido.",
            "Llegó un día tarde, pero todo bien.",
        ],
        (0, POS): [
            "La entrega fue {rapidísima|muy rápida}.",
            "Llegó antes de lo previsto, ¡genial!",
        ],
        (1, NEG): [
            "Tardaron {días|una semana} en responder a mi correo.",
            "Tuve que llamar {tres|varias} veces por el mismo problema.",
            "El servicio de atención al cliente es muy lento.",
        ],
        (1, NEU): [
            "Me ayudaron, aunque tardaron un poco.",
            "El problema se resolvió al segundo intento.",
        ],
        (1, POS): [
            "La agente fue muy amable y lo resolvió {enseguida|en una sola llamada}.",
            "Excelente atención al cliente.",
        ],
        (2, NEG): [
            "El producto {dejó de funcionar|se rompió} a las {dos semanas|pocas semanas}.",
            "La calidad es muy mala para el precio.",
            "El termostato Glow 2 tiene un problema con la batería.",
        ],
        (2, NEU): ["El producto está bien, nada especial.", "Calidad aceptable."],
        (2, POS): [
            "La calidad es {excelente|muy buena}.",
            "Me encanta el producto, tal como se describe.",
        ],
        (3, NEG): [
            "Los precios son {demasiado altos|muy caros}.",
            "Me cobraron dos veces el mismo pedido.",
        ],
        (3, NEU): ["Precios razonables, aunque el envío es caro."],
        (3, POS): ["Muy buena relación calidad-precio.", "Las ofertas son fantásticas."],
        (4, NEG): ["La {web|aplicación} falla al pagar.", "La devolución fue un desastre."],
        (4, NEU): ["En general, bien.", "Todo correcto."],
        (4, POS): [
            "Todo perfecto, {lo recomiendo|volveré a comprar}.",
            "La aplicación es muy fácil de usar.",
        ],
    },
    "fr": {
        (0, NEG): [
            "Ma commande est arrivée avec {trois|quatre|cinq} jours de retard.",
            "La livraison a été retardée et personne ne m'a prévenu.",
            "J'ai payé la livraison express et c'est quand même arrivé en retard.",
        ],
        (0, NEU): [
            "La livraison a pris un peu plus de temps que prévu.",
            "Arrivé avec un jour de retard, sinon correct.",
        ],
        (0, POS): ["Livraison {super rapide|très rapide}.", "Arrivé plus tôt que prévu, bravo!"],
        (1, NEG): [
            "Il a fallu {trois jours|une semaine} pour avoir une réponse à mon courriel.",
            "J'ai dû appeler {trois|plusieurs} fois pour le même problème.",
            "Le service à la clientèle est beaucoup trop lent.",
        ],
        (1, NEU): ["On m'a aidé, mais ça a pris du temps.", "Réglé au deuxième appel."],
        (1, POS): [
            "L'agent était très gentil et a tout réglé {tout de suite|en un seul appel}.",
            "Service à la clientèle excellent.",
        ],
        (2, NEG): [
            "Le produit a {cessé de fonctionner|brisé} après {deux semaines|quelques semaines}.",
            "Mauvaise qualité pour le prix.",
            "Le thermostat Glow 2 a un problème de batterie.",
        ],
        (2, NEU): ["Le produit est correct, sans plus.", "Qualité acceptable."],
        (2, POS): [
            "La qualité est {excellente|très bonne}.",
            "J'adore le produit, conforme à la description.",
        ],
        (3, NEG): [
            "Les prix sont {beaucoup trop élevés|trop chers}.",
            "On m'a facturé deux fois la même commande.",
        ],
        (3, NEU): ["Prix raisonnables, mais la livraison coûte cher."],
        (3, POS): ["Excellent rapport qualité-prix.", "Les promotions sont géniales."],
        (4, NEG): [
            "{Le site plante|L'application plante} au moment de payer.",
            "Le retour a été un vrai casse-tête.",
        ],
        (4, NEU): ["Dans l'ensemble, correct.", "Rien à signaler."],
        (4, POS): [
            "Tout était parfait, {je recommande|je vais recommander}.",
            "L'application est très facile à utiliser.",
        ],
    },
}

_FOREIGN_CLOSERS = {
    "es": {
        NEG: ["Muy decepcionado.", "No volveré a comprar.", "Espero que lo solucionen."],
        NEU: ["Podría mejorar.", "Nada más que añadir."],
        POS: ["¡Gracias!", "Lo recomiendo.", "¡Muy contento!"],
    },
    "fr": {
        NEG: ["Très déçu.", "Je ne commanderai plus.", "J'espère que ça va s'améliorer."],
        NEU: ["Ça pourrait être mieux.", "Rien de plus à dire."],
        POS: ["Merci!", "Je recommande.", "Très satisfait!"],
    },
}

# ---------------------------------------------------------------- social mentions

_SOCIAL_OPENERS = {
    NEG: [
        "@hearthwell",
        "Hey @hearthwell!",
        "Wow @hearthwell.",
        "Thanks for nothing @hearthwell.",
        "@hearthwell seriously?",
        "@hearthwell, {not cool.|really?}",
    ],
    NEU: ["@hearthwell", "So @hearthwell", "Hmm @hearthwell.", ""],
    POS: [
        "Shoutout to @hearthwell!",
        "Big thanks @hearthwell",
        "@hearthwell you're the best.",
        "Love @hearthwell.",
        "@hearthwell {nailed it|did it again}!",
    ],
}
_HASHTAGS = {
    NEG: ["#fail", "#customerservice", "#neveragain", "#annoyed", "#disappointed", ""],
    NEU: ["", "#shopping", "#home"],
    POS: ["#happycustomer", "#recommended", "#newhome", "#greatservice", ""],
}
_FORUM_OPENERS = {
    NEG: [
        "Anyone else having trouble with Hearthwell?",
        "PSA about Hearthwell:",
        "Is it just me or is Hearthwell getting worse?",
        "Rant incoming.",
    ],
    NEU: [
        "Thoughts on Hearthwell?",
        "Quick Hearthwell experience report:",
        "Mixed experience with Hearthwell.",
    ],
    POS: [
        "Credit where it's due, Hearthwell.",
        "Good Hearthwell experience to share:",
        "Hearthwell has been great for me.",
    ],
}

# ---------------------------------------------------------------- support cases

#: case categories and their root causes; the root-cause code is category * 4 + k
CASE_CATEGORIES = (
    "delivery",
    "returns",
    "product_defect",
    "billing",
    "account",
    "product_question",
)
ROOT_CAUSES = (
    "carrier_delay",
    "warehouse_backlog",
    "address_error",
    "damaged_in_transit",
    "wrong_item",
    "changed_mind",
    "damaged_item",
    "refund_delay",
    "hardware_fault",
    "software_bug",
    "missing_parts",
    "faulty_battery_batch",
    "double_charge",
    "invoice_error",
    "payment_declined",
    "promo_code",
    "password_reset",
    "login_issue",
    "address_change",
    "data_request",
    "compatibility",
    "availability",
    "installation",
    "warranty",
)

#: per root cause (in :data:`ROOT_CAUSES` order): subjects, openings, details and requests
_CASE_TEXT: list[tuple[list[str], list[str], list[str], list[str]]] = [
    (  # carrier_delay
        [
            "Order {still not delivered|not arrived yet}",
            "Where is my order?",
            "Late delivery",
            "Parcel stuck in transit",
            "Delivery date missed",
        ],
        [
            "My {order|parcel} still hasn't arrived.",
            "The tracking hasn't updated in {three|four} days.",
            "The courier keeps {rescheduling|postponing} my delivery.",
            "It says out for delivery but nothing has come.",
            "Delivery was promised for {yesterday|last week} and I have heard nothing.",
        ],
        [
            "I need it for {the weekend|a birthday|work}.",
            "Nobody has updated me.",
            "I've been waiting at home all day.",
            "The tracking page just says 'in transit'.",
        ],
        [
            "Please tell me when it will arrive.",
            "Can you {refund the delivery fee|send a replacement}?",
            "Please {sort this out|look into this} {urgently|asap}.",
        ],
    ),
    (  # warehouse_backlog
        ["Order not shipped yet", "Why hasn't my order shipped?", "Order stuck in processing"],
        [
            "My order {still shows|is still showing} as processing.",
            "It has been days and the order has not been {dispatched|shipped}.",
            "The shipping confirmation never came.",
        ],
        [
            "The website said it was in stock.",
            "I paid for faster shipping.",
            "Nobody has updated me.",
        ],
        [
            "When will it ship?",
            "Please ship it or cancel the order.",
            "Please {sort this out|look into this} {urgently|asap}.",
        ],
    ),
    (  # address_error
        ["Wrong delivery address", "Parcel sent to old address", "Change delivery address"],
        [
            "The parcel {was sent|went} to my old address.",
            "I {entered|typed} the wrong apartment number and need to fix it.",
            "The driver says the address can't be found.",
        ],
        ["I updated my address last month.", "The building has a buzzer at the side door."],
        [
            "Can you redirect the parcel?",
            "Please update the address on the order.",
            "Please resend it to the right address.",
        ],
    ),
    (  # damaged_in_transit
        ["Item arrived damaged", "Broken on arrival", "Damaged parcel"],
        [
            "The box arrived {crushed|badly dented} and the item inside is {broken|cracked}.",
            "The {glass|screen|leg} was {cracked|broken} when I opened the box.",
            "The parcel was {soaked|torn open} when it arrived.",
        ],
        ["I have photos of the box and the item.", "The driver didn't wait for a signature."],
        [
            "Can you send a replacement?",
            "I'd like a {refund|replacement}.",
            "Please arrange a pickup.",
        ],
    ),
    (  # wrong_item
        ["Wrong item received", "Received someone else's order", "Incorrect item in box"],
        [
            "I received the wrong {item|color|size}.",
            "The box contained {something I didn't order|a completely different product}.",
        ],
        ["The label on the box has my name on it.", "I have kept all the packaging."],
        [
            "Please send the right item.",
            "Please send me a return label.",
            "Please exchange it for what I ordered.",
        ],
    ),
    (  # changed_mind
        ["Return request", "How do I return this?", "Want to return an item"],
        [
            "I would like to return {an item|this order}, it's not what I {need|expected}.",
            "The item doesn't fit {my space|what I need}, so I want to send it back.",
        ],
        ["It's unused and in the original box.", "I have kept all the packaging."],
        [
            "Please send me a return label.",
            "How do I get my money back?",
            "Can I return it in a store?",
        ],
    ),
    (  # damaged_item
        ["Return a damaged item", "Item damaged, want a refund"],
        [
            "The item has {a scratch|a dent|a tear} and I want to return it.",
            "I'd like to return this, it arrived {damaged|with marks on it}.",
        ],
        ["I have photos if you need them.", "I noticed it as soon as I unpacked it."],
        [
            "Please process a refund.",
            "Can you send a replacement?",
            "Please send me a return label.",
        ],
    ),
    (  # refund_delay
        ["Refund not received", "Where is my refund?", "Refund still pending"],
        [
            "I returned the item {two|three} weeks ago and still have no refund.",
            "The return was received but the refund never came.",
        ],
        [
            "I dropped it off at the {post office|store} and have the receipt.",
            "The tracking shows you received it.",
        ],
        ["Please process the refund.", "When will I get my money back?"],
    ),
    (  # hardware_fault
        ["Product stopped working", "Faulty item", "Device not turning on"],
        [
            "The {device|appliance|item} stopped working after {a few days|two weeks|a month}.",
            "It won't {switch on|charge|power up} anymore.",
        ],
        [
            "I've tried {turning it off and on|resetting it} already.",
            "It's only {a few days|a few weeks} old.",
        ],
        ["Can you send a replacement?", "I'd like a {refund|replacement}.", "What are my options?"],
    ),
    (  # software_bug
        ["App won't connect to device", "Firmware problem", "Device keeps disconnecting"],
        [
            "The device keeps {disconnecting from wifi|dropping the connection}.",
            "After the last update the {app|device} {crashes|freezes} constantly.",
        ],
        ["I've reinstalled the app twice.", "Other devices on my wifi work fine."],
        ["Is there a fix coming?", "What are my options?", "Please help."],
    ),
    (  # missing_parts
        ["Missing parts", "Parts missing from box", "Incomplete delivery"],
        [
            "Several screws are missing from the box.",
            "The power adapter is missing from the box.",
            "One of the shelves is missing.",
            "The remote control was not in the box.",
        ],
        ["I can't finish the assembly without it.", "The box was sealed when it arrived."],
        ["Please send the missing parts.", "Can you send the missing part {asap|this week}?"],
    ),
    (  # faulty_battery_batch
        [
            "Glow 2 thermostat battery problem",
            "Glow 2 not working",
            "Thermostat battery swollen",
            "Glow 2 keeps shutting down",
        ],
        [
            "My Glow 2 thermostat {shuts down|restarts} every few hours.",
            "The battery in my Glow 2 is {swollen|getting hot|draining within a day}.",
            "The Glow 2 thermostat {stopped working|died} and the heating no longer responds.",
        ],
        [
            "The house is cold and I can't control the heating.",
            "I've read online that others have the same problem.",
            "I've tried charging it overnight, no change.",
        ],
        [
            "Please send a replacement {urgently|asap}.",
            "Is this a known battery issue?",
            "I'd like a {refund|replacement}.",
        ],
    ),
    (  # double_charge
        ["Charged twice", "Duplicate charge", "Double payment"],
        [
            "I was charged twice for the same order.",
            "My card statement shows {two|duplicate} payments for one order.",
        ],
        ["I have the bank statement if you need it.", "I only placed the order once."],
        ["Please refund the extra charge.", "Please refund the duplicate payment."],
    ),
    (  # invoice_error
        ["Invoice incorrect", "Wrong amount on invoice", "Need a corrected invoice"],
        [
            "The invoice shows the wrong {amount|tax number|company name}.",
            "{Our|My} invoice does not match the order total.",
        ],
        ["This has happened before.", "We need this fixed before month end."],
        ["Please send a corrected invoice.", "Please check and fix this."],
    ),
    (  # payment_declined
        ["Payment declined", "Card declined at checkout", "Can't pay for my order"],
        [
            "My card keeps getting declined at checkout.",
            "The payment fails {every time|each time} although my bank says it's fine.",
        ],
        ["I've tried two different cards.", "It works on other websites."],
        ["Can you check what's wrong?", "How else can I pay?", "Please help."],
    ),
    (  # promo_code
        ["Discount code not working", "Promo code not applied", "Missing discount"],
        [
            "The {promo|discount} code {didn't apply|was not applied} to my order.",
            "I was promised {10%|15%|20%} off but was charged full price.",
        ],
        ["The code was in your newsletter.", "The code hasn't expired."],
        ["Please refund the difference.", "Please apply the discount."],
    ),
    (  # password_reset
        ["Can't reset password", "Password reset email not arriving", "Locked out of account"],
        [
            "The password reset email never arrives.",
            "I'm locked out of my account after too many attempts.",
        ],
        ["I've checked my spam folder.", "I've tried {twice|a few times} already."],
        ["Can you reset it for me?", "Please unlock my account."],
    ),
    (  # login_issue
        ["Can't log in", "Login not working", "Verification code not received"],
        [
            "I can't log in {on the app|on the website}.",
            "The verification code never arrives {by text|by SMS}.",
        ],
        ["I've tried on {two|different} browsers.", "Nothing I try works."],
        ["Please help.", "Can you sort this out for me?"],
    ),
    (  # address_change
        ["Update my address", "Change account details", "Update billing address"],
        [
            "I've moved and need to update my {address|delivery address}.",
            "Please change the {billing|delivery} address on my account.",
        ],
        ["The website won't let me save the new address.", "I have an order on the way."],
        ["Thanks for your help.", "Please confirm once it's done."],
    ),
    (  # data_request
        ["Delete my account", "Request for my personal data", "Privacy request"],
        [
            "Please {delete|close} my account and all my data.",
            "I would like a copy of the personal data you hold about me.",
        ],
        ["I no longer want to receive emails.", "I'm making this request under privacy law."],
        ["Please confirm once it's done.", "How long will this take?"],
    ),
    (  # compatibility
        ["Is this compatible?", "Compatibility question", "Will this work with my setup?"],
        [
            "Will the {thermostat|smart plug|speaker} work with my {system|router|heating}?",
            "I'd like to know if this is compatible with {my existing setup|older models}.",
        ],
        ["The product page doesn't say.", "I couldn't find the answer in the help center."],
        ["Thanks in advance.", "Please let me know."],
    ),
    (  # availability
        ["When will this be back in stock?", "Out of stock item", "Restock date?"],
        [
            "The item I want has been out of stock for weeks.",
            "Do you know when the {sofa|desk|coffee machine} will be back in stock?",
        ],
        ["I've signed up for the stock alert.", "It's been out of stock for a while."],
        ["Thanks in advance.", "Can you reserve one for me?"],
    ),
    (  # installation
        ["Help with installation", "Assembly instructions", "Setup help"],
        [
            "I need help {installing|setting up} my new {thermostat|dishwasher|TV mount}.",
            "The assembly instructions are {missing|unclear}.",
        ],
        ["I couldn't find a video guide.", "Step 4 doesn't match the parts I have."],
        ["Any advice would be appreciated.", "Do you offer installation?"],
    ),
    (  # warranty
        ["Warranty question", "Is this covered under warranty?", "Extended warranty"],
        ["Is my {item|purchase} still covered by the warranty?", "How do I make a warranty claim?"],
        ["I bought it last year.", "I still have the receipt."],
        ["Thanks in advance.", "Please let me know."],
    ),
]

_REF_PREFIXES = [
    "Order number: ",
    "Order ",
    "My order number is ",
    "Ref: order ",
    "This is about order ",
]
_SIGNOFFS = ["Thanks, ", "Thank you, ", "Regards, ", "Best, ", "Cheers, ", "Kind regards, "]

# ---------------------------------------------------------------- people

_FIRST = {
    "en": [
        "James",
        "Mary",
        "Michael",
        "Patricia",
        "Robert",
        "Jennifer",
        "David",
        "Linda",
        "William",
        "Elizabeth",
        "John",
        "Susan",
        "Emily",
        "Daniel",
        "Sarah",
        "Matthew",
        "Jessica",
        "Andrew",
        "Ashley",
        "Joshua",
        "Olivia",
        "Ethan",
        "Grace",
        "Ryan",
        "Priya",
        "Wei",
        "Aisha",
        "Kenji",
        "Fatima",
        "Noah",
        "Chloe",
        "Tyler",
    ],
    "es": [
        "María",
        "José",
        "Carmen",
        "Luis",
        "Ana",
        "Carlos",
        "Lucía",
        "Jorge",
        "Sofía",
        "Miguel",
        "Isabel",
        "Diego",
        "Valentina",
        "Javier",
        "Gabriela",
        "Alejandro",
    ],
    "fr": [
        "Marie",
        "Jean",
        "Sophie",
        "Luc",
        "Isabelle",
        "Pierre",
        "Chloé",
        "Étienne",
        "Camille",
        "Mathieu",
        "Julie",
        "François",
        "Émilie",
        "Simon",
        "Nathalie",
        "Olivier",
    ],
}
_LAST = {
    "en": [
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Miller",
        "Davis",
        "Wilson",
        "Anderson",
        "Taylor",
        "Thomas",
        "Moore",
        "Martin",
        "Jackson",
        "Thompson",
        "White",
        "Harris",
        "Clark",
        "Lewis",
        "Walker",
        "Young",
        "Allen",
        "King",
        "Wright",
        "Patel",
        "Chen",
        "Nguyen",
        "Kim",
        "Khan",
        "Okafor",
        "Murphy",
        "Cohen",
    ],
    "es": [
        "García",
        "Rodríguez",
        "Martínez",
        "Hernández",
        "López",
        "González",
        "Pérez",
        "Sánchez",
        "Ramírez",
        "Torres",
        "Flores",
        "Rivera",
        "Gómez",
        "Díaz",
        "Cruz",
        "Morales",
    ],
    "fr": [
        "Tremblay",
        "Gagnon",
        "Roy",
        "Côté",
        "Bouchard",
        "Gauthier",
        "Morin",
        "Lavoie",
        "Fortin",
        "Gagné",
        "Ouellet",
        "Pelletier",
        "Bélanger",
        "Lévesque",
        "Bergeron",
        "Leblanc",
    ],
}
_ASCII = str.maketrans("áéíóúüñçèêëàâîïôûÉÈ", "aeiouuncieeaaiiouEE")


def _slug(word: str) -> str:
    return word.translate(_ASCII).lower().replace(" ", "")


def person_names(
    rng: np.random.Generator, language: np.ndarray, number: np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array, pa.Array, pa.Array]:
    """``(first, last, name, email, handle)`` for people of the given language codes.

    Emails use the reserved ``example.com``/``.net``/``.org`` domains.
    """
    n = len(language)
    firsts: list[str] = []
    lasts: list[str] = []
    fstart, fsize, lstart, lsize = [], [], [], []
    for lang in LANGUAGES:
        fstart.append(len(firsts))
        fsize.append(len(_FIRST[lang]))
        firsts += _FIRST[lang]
        lstart.append(len(lasts))
        lsize.append(len(_LAST[lang]))
        lasts += _LAST[lang]
    fstart_a, fsize_a = np.array(fstart), np.array(fsize)
    lstart_a, lsize_a = np.array(lstart), np.array(lsize)
    # a share of every language group carries names from the other banks
    lang = np.where(rng.random(n) < 0.12, rng.integers(0, len(LANGUAGES), n), language)
    fi = fstart_a[lang] + (rng.random(n) * fsize_a[lang]).astype(np.int64)
    li = lstart_a[lang] + (rng.random(n) * lsize_a[lang]).astype(np.int64)
    first_arr = pa.array(firsts, pa.string())
    last_arr = pa.array(lasts, pa.string())
    first = first_arr.take(pa.array(fi))
    last = last_arr.take(pa.array(li))
    name = join([first, last])
    fslug = pa.array([_slug(x) for x in firsts]).take(pa.array(fi))
    lslug = pa.array([_slug(x) for x in lasts]).take(pa.array(li))
    style = rng.integers(0, 3, n)
    seps = pa.array([".", "_", ""]).take(pa.array(style))
    num = pa.array(np.char.mod("%d", np.asarray(number) % 997).astype(object), pa.string())
    domains = pa.array(["@example.com", "@example.net", "@example.org"]).take(
        pa.array(rng.integers(0, 3, n))
    )
    email = join([fslug, seps, lslug, num, domains], "")
    initial = pa.array([_slug(x)[0] for x in lasts]).take(pa.array(li))
    handle = join(
        [
            pa.array(["@"] * n, pa.string()),
            fslug,
            seps,
            initial,
            pa.array(np.char.mod("%d", 60 + np.asarray(number) % 40).astype(object), pa.string()),
        ],
        "",
    )
    return first, last, name, email, handle


def reviewer_names(first: pa.Array, last: pa.Array) -> pa.Array:
    """``Maria G.`` style names for review platforms."""
    initial = pc.utf8_slice_codeunits(last, 0, 1)
    return join([first, pc.binary_join_element_wise(initial, ".", "")])


_AGENT_FIRST = [
    "Sofia",
    "Marcus",
    "Aaliyah",
    "Ben",
    "Carla",
    "Dev",
    "Elena",
    "Farid",
    "Gina",
    "Hugo",
    "Ines",
    "Jamal",
    "Kara",
    "Leo",
    "Mia",
    "Nate",
    "Omar",
    "Paula",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Yara",
    "Zoe",
    "Andre",
    "Bianca",
    "Cole",
    "Dana",
    "Eli",
    "Fiona",
    "Gabe",
    "Hana",
    "Ivan",
    "Jade",
    "Kofi",
    "Lena",
    "Max",
    "Nina",
    "Owen",
    "Pia",
    "Raj",
    "Sara",
    "Theo",
    "Uma",
    "Vic",
    "Wren",
    "Xavi",
    "Yusuf",
    "Zara",
    "Amir",
    "Bea",
    "Cruz",
    "Dina",
]
_AGENT_INITIALS = "ABCDFGHJKLMNPRSTVW"


def agent_names(count: int) -> list[str]:
    """``count`` distinct agent display names (``Sofia M.``), always the same ones."""
    out = []
    for k in range(count):
        first = _AGENT_FIRST[k % len(_AGENT_FIRST)]
        initial = _AGENT_INITIALS[(k * 7 + k // len(_AGENT_FIRST)) % len(_AGENT_INITIALS)]
        out.append(f"{first} {initial}.")
    return out


# ---------------------------------------------------------------- banks, built once

_BANKS: dict[str, Bank] = {}


def _bank(name: str) -> Bank:
    if not _BANKS:
        s = (NEG, NEU, POS)
        _BANKS["opener"] = Bank([_OPENERS[k] for k in s])
        _BANKS["closer"] = Bank([_CLOSERS[k] for k in s])
        _BANKS["core"] = Bank(_grid(_CORES, len(TOPICS), 3))
        for lang, cells in _FOREIGN.items():
            _BANKS[f"core_{lang}"] = Bank(_grid(cells, len(_COARSE), 3))
            _BANKS[f"closer_{lang}"] = Bank([_FOREIGN_CLOSERS[lang][k] for k in s])
        _BANKS["social_opener"] = Bank([_SOCIAL_OPENERS[k] for k in s])
        _BANKS["hashtag"] = Bank([_HASHTAGS[k] for k in s])
        _BANKS["forum_opener"] = Bank([_FORUM_OPENERS[k] for k in s])
        for i, part in enumerate(("subject", "intro", "detail", "ask")):
            _BANKS[part] = Bank([texts[i] for texts in _CASE_TEXT])
        _BANKS["ref"] = Bank([_REF_PREFIXES])
        _BANKS["signoff"] = Bank([_SIGNOFFS])
    return _BANKS[name]


def phrase_count() -> int:
    """How many distinct phrases the banks hold (after expanding alternatives)."""
    _bank("core")
    return sum(len(b) for b in _BANKS.values())


# ---------------------------------------------------------------- composers


def _english(
    rng: np.random.Generator,
    topic: np.ndarray,
    sentiment: np.ndarray,
    *,
    opener: float,
    second: float,
    closer: float,
) -> list[pa.Array]:
    n = len(topic)
    core = _bank("core")
    parts = [
        _bank("opener").draw(rng, sentiment, rng.random(n) < opener),
        core.draw(rng, topic * 3 + sentiment),
    ]
    choices = np.array([_SECOND[s] + [-1] * (8 - len(_SECOND[s])) for s in (NEG, NEU, POS)])
    sizes = np.array([len(_SECOND[s]) for s in (NEG, NEU, POS)])
    pick = choices[sentiment, (rng.random(n) * sizes[sentiment]).astype(np.int64)]
    keep2 = (rng.random(n) < second) & (pick != topic)
    parts.append(core.draw(rng, np.where(keep2, pick, 0) * 3 + sentiment, keep2))
    parts.append(_bank("closer").draw(rng, sentiment, rng.random(n) < closer))
    return parts


def comment_texts(
    rng: np.random.Generator, topic: np.ndarray, sentiment: np.ndarray, language: np.ndarray
) -> pa.Array:
    """Survey comments about ``topic`` (codes into :data:`TOPICS`) in the given sentiment.

    ``language`` holds codes into :data:`LANGUAGES`.
    """
    topic = np.asarray(topic, dtype=np.int64)
    sentiment = np.asarray(sentiment, dtype=np.int64)
    n = len(topic)
    text = join(_english(rng, topic, sentiment, opener=0.45, second=0.3, closer=0.35))
    return _localize(rng, text, topic, sentiment, np.asarray(language), n)


def _localize(
    rng: np.random.Generator,
    text: pa.Array,
    topic: np.ndarray,
    sentiment: np.ndarray,
    language: np.ndarray,
    n: int,
) -> pa.Array:
    for code, lang in enumerate(LANGUAGES):
        if code == 0:
            continue
        rows = np.flatnonzero(language == code)
        if not len(rows):
            continue
        key = COARSE_TOPIC[topic[rows]] * 3 + sentiment[rows]
        local = join(
            [
                _bank(f"core_{lang}").draw(rng, key),
                _bank(f"closer_{lang}").draw(rng, sentiment[rows], rng.random(len(rows)) < 0.5),
            ]
        )
        index = np.arange(n)
        index[rows] = n + np.arange(len(rows))
        text = pa.concat_arrays([text, local]).take(pa.array(index))
    return pc.cast(text, pa.string())


def mention_texts(
    rng: np.random.Generator,
    topic: np.ndarray,
    sentiment: np.ndarray,
    language: np.ndarray,
    kind: np.ndarray,
) -> pa.Array:
    """Social posts (``kind`` 0), reviews (1) and forum posts (2)."""
    topic = np.asarray(topic, dtype=np.int64)
    sentiment = np.asarray(sentiment, dtype=np.int64)
    kind = np.asarray(kind, dtype=np.int64)
    n = len(topic)
    review = _english(rng, topic, sentiment, opener=0.5, second=0.45, closer=0.5)
    social = kind == 0
    forum = kind == 2
    opener = pa.concat_arrays(
        [
            review[0],
            _bank("social_opener").draw(rng, sentiment),
            _bank("forum_opener").draw(rng, sentiment),
        ]
    ).take(pa.array(np.arange(n) + n * np.where(social, 1, np.where(forum, 2, 0))))
    tag = _bank("hashtag").draw(rng, sentiment, social & (rng.random(n) < 0.6))
    short = pa.array(social)
    second = pc.if_else(short, "", review[2])
    closer = pc.if_else(short, "", review[3])
    text = join([opener, review[1], second, closer, tag])
    return _localize(rng, text, topic, sentiment, np.asarray(language), n)


def case_subjects(rng: np.random.Generator, root: np.ndarray, urgent: np.ndarray) -> pa.Array:
    """Ticket subjects for root-cause codes; some urgent ones are flagged in capitals."""
    root = np.asarray(root, dtype=np.int64)
    n = len(root)
    flag = pa.array(["", "URGENT: "]).take(pa.array((urgent & (rng.random(n) < 0.5)).astype(int)))
    return join([flag, _bank("subject").draw(rng, root)], "")


def case_descriptions(
    rng: np.random.Generator,
    root: np.ndarray,
    order_ref: pa.Array,
    first_name: pa.Array,
) -> pa.Array:
    """Ticket bodies: what went wrong (by root cause), the order, detail, request, sign-off.

    ``order_ref`` holds the order id or null; ``first_name`` the customer's first name
    or null (anonymous contact).
    """
    root = np.asarray(root, dtype=np.int64)
    n = len(root)
    has_order = np.asarray(order_ref.is_valid())
    ref = join(
        [
            _bank("ref").draw(rng, np.zeros(n, np.int64), has_order),
            pc.fill_null(order_ref, ""),
            pa.array(np.where(has_order, ".", "")),
        ],
        "",
    )
    sign = np.asarray(first_name.is_valid()) & (rng.random(n) < 0.55)
    signoff = join(
        [
            _bank("signoff").draw(rng, np.zeros(n, np.int64), sign),
            pc.if_else(pa.array(sign), pc.fill_null(first_name, ""), ""),
        ],
        "",
    )
    return join(
        [
            _bank("intro").draw(rng, root),
            ref,
            _bank("detail").draw(rng, root, rng.random(n) < 0.5),
            _bank("ask").draw(rng, root),
            signoff,
        ]
    )
