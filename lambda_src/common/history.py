"""What the fraud history query reads beyond the table's keys, as plain data.

Its own module, importing nothing, because the stacks read it too: the customer GSI of the
transactions table projects exactly these attributes (payments-11), and a synth must not import
handler code that imports boto3 (``common.fraud`` does, for its DynamoDB loader).
"""

HISTORY_ATTRIBUTES = ("amount", "decision")
