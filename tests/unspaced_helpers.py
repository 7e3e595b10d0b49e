"""Two-class review texts in scripts written without spaces (Japanese, Thai), written for the tests.

Each text is a topic and a verdict run together, as the languages write them: the regex
tokenizer reads each as one token, so a network's vocabulary is all one-off tokens, while
character n-grams ("良かった", "แย่") still tell the classes apart.
"""

from __future__ import annotations

import random

JAPANESE_TOPICS = ["この映画は", "この店の料理は", "ホテルの部屋は", "店員の対応は", "この本は",
                   "今日のライブは"]  # fmt: skip
JAPANESE = {
    "pos": ["とても良かったです", "最高でした", "本当に楽しかったです", "すばらしいと思います",
            "期待以上でした", "気に入りました", "満足しています", "感動しました"],
    "neg": ["ひどかったです", "最悪でした", "つまらなかったです", "がっかりしました",
            "期待外れでした", "不満が残りました", "二度と嫌です", "退屈でした"],
}  # fmt: skip
THAI_TOPICS = ["หนังเรื่องนี้", "อาหารร้านนี้", "ห้องพักโรงแรม", "พนักงานที่นี่", "หนังสือเล่มนี้",
               "คอนเสิร์ตวันนี้"]  # fmt: skip
THAI = {
    "pos": ["ดีมาก", "สนุกมาก", "ประทับใจมาก", "ยอดเยี่ยม", "ชอบมากเลย", "คุ้มค่ามาก",
            "สุดยอดจริงๆ", "แนะนำเลย"],
    "neg": ["แย่มาก", "น่าเบื่อ", "ผิดหวังมาก", "ไม่ดีเลย", "แย่ที่สุด", "ห่วยมาก",
            "ไม่ไหวจริงๆ", "เสียเวลา"],
}  # fmt: skip


def review_rows(language: str, seed: int = 0) -> list[tuple[str, str]]:
    """96 (text, label) rows, shuffled: every topic with every verdict of both classes."""
    topics, verdicts = {
        "ja": (JAPANESE_TOPICS, JAPANESE),
        "th": (THAI_TOPICS, THAI),
    }[language]
    end = "。" if language == "ja" else ""
    rows = [(topic + verdict + end, label) for label, said in verdicts.items()
            for topic in topics for verdict in said]  # fmt: skip
    random.Random(seed).shuffle(rows)
    return rows
