// The password rules of proto/PROTOCOL.md section 10, in the server's order. The page
// checks as the person types; the server stays the judge and names the rule it refuses.
export const RULES = ['min_length', 'lower', 'upper', 'digit', 'not_common'];

// The server's error codes for each rule.
export const RULE_OF_CODE = {
  password_too_short: 'min_length',
  password_no_lower: 'lower',
  password_no_upper: 'upper',
  password_no_digit: 'digit',
  password_common: 'not_common',
};

// Case of a letter in ASCII, Latin-1 and Latin Extended-A, as the server decides it:
// 1 upper, -1 lower, 0 neither. In Extended-A pairs alternate, parity shifted in
// 0139-0148 and 0179-017E.
export function letterCase(c) {
  if (c >= 0x41 && c <= 0x5a) return 1;
  if (c >= 0x61 && c <= 0x7a) return -1;
  if (c >= 0xc0 && c <= 0xde && c !== 0xd7) return 1;
  if (c >= 0xdf && c <= 0xff && c !== 0xf7) return -1;
  if (c >= 0x100 && c <= 0x17f) {
    if (c === 0x138 || c === 0x149 || c === 0x17f) return -1;
    if (c === 0x178) return 1;
    const oddUpper = (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e);
    return ((c & 1) === 1) === oddUpper ? 1 : -1;
  }
  return 0;
}

let common = null; // Set, once fetched
let commonP = null;

// Fetched only by the pages that set a password, never on the first load.
export function loadCommon() {
  if (!commonP) {
    commonP = fetch('/common-passwords.txt')
      .then((r) => (r.ok ? r.text() : ''))
      .then((t) => {
        common = new Set(t.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')));
        return common;
      })
      .catch(() => { commonP = null; return null; });
  }
  return commonP;
}

// The server lowers ASCII only before looking a password up.
function asciiLower(s) {
  return s.replace(/[A-Z]/g, (c) => c.toLowerCase());
}

// {min_length: bool, lower, upper, digit, not_common: bool|null (list not loaded)}
export function check(pw) {
  let chars = 0, upper = false, lower = false, digit = false;
  for (const ch of pw) {
    const c = ch.codePointAt(0);
    chars++;
    const lc = letterCase(c);
    upper ||= lc > 0;
    lower ||= lc < 0;
    digit ||= c >= 0x30 && c <= 0x39;
  }
  return {
    min_length: chars >= 8,
    lower,
    upper,
    digit,
    not_common: common ? pw.length > 0 && !common.has(asciiLower(pw)) : null,
  };
}

// The first rule broken, in the server's order, or null.
export function firstBroken(pw) {
  const r = check(pw);
  return RULES.find((k) => r[k] === false) || null;
}
