"""The FIX tags and values the session layer works with."""

# Header tags the session layer works with.
BEGIN_STRING = 8
MSG_SEQ_NUM = 34
MSG_TYPE = 35
POSS_DUP = 43
SENDER = 49
SENDING_TIME = 52
TARGET = 56
ORIG_SENDING_TIME = 122
# Body tags of the administrative messages.
BEGIN_SEQ_NO = 7
END_SEQ_NO = 16
NEW_SEQ_NO = 36
REF_SEQ_NUM = 45
TEXT = 58
ENCRYPT_METHOD = 98
HEART_BT_INT = 108
TEST_REQ_ID = 112
GAP_FILL = 123
RESET_SEQ_NUM = 141
REF_TAG_ID = 371
REF_MSG_TYPE = 372
SESSION_REJECT_REASON = 373
BUSINESS_REJECT_REASON = 380

# BusinessRejectReason (380) values and texts, as the reference engine words them.
BUSINESS_OTHER = 0
UNSUPPORTED_MESSAGE_TYPE = 3
CONDITIONALLY_REQUIRED_MISSING = 5
BUSINESS_REJECT_TEXTS = {
    BUSINESS_OTHER: "Other",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported Message Type",
    CONDITIONALLY_REQUIRED_MISSING: "Conditionally Required Field Missing",
}
