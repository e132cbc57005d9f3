"""Cases: enrolment, conditions, status (enrolled -> active -> suspended -> released)."""
