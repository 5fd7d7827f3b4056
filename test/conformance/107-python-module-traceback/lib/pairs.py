def parse_pair(text):
    key, value = text.split("=")
    return {key: int(value)}


class ParsePairs:
    def process(self, text):
        return parse_pair(text)
