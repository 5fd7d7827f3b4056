class Shout:
    def __init__(self, suffix="!"):
        self.suffix = suffix

    def process(self, text):
        return text.upper() + self.suffix
