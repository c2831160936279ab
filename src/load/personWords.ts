/**
 * The words the person-event generator draws from: names and places from many languages,
 * with apostrophes, quotes, backslashes, tabs, newlines and emoji, so generated text takes
 * every path an application's text would.
 */

export const FIRST_NAMES = [
  'Anna', 'Ben', 'Chloé', 'Dmitri', 'Émile', 'Fatima', 'Günter', 'Hiroshi', 'Ingrid', 'José',
  'Kofi', 'Łucja', 'Mateo', 'Noor', 'Oisín', 'Priya', 'Quentin', 'Rūta', 'Søren', 'Tomás',
  'Ursula', 'Văn', 'Wei', 'Xóchitl', 'Yusuf', 'Zoë', '美咲', 'Алексей', 'Ελένη', 'Ngozi',
  'Mary-Jane', 'Jean-Luc', 'Björk', 'Siobhán', 'Dae-jung',
];
export const LAST_NAMES = [
  'Smith', "O'Brien", 'Müller', 'García', 'Nguyễn', 'Kowalski', "D'Angelo", 'van der Berg',
  'Øvergaard', 'Tanaka', 'Иванова', '김', 'Åström', 'Núñez', 'Ferreira-Lopes', 'Okafor',
  'Patel', 'Dubois', 'Łukasiewicz', '王', 'Papadopoulos', "N'Diaye", 'Ó Súilleabháin', 'Jones',
];
export const NICKNAMES = ['Ace', 'Bubbles', "Lil' Jo", 'Doc', 'Kiki', 'Sunny', 'Ziggy', '小龙', 'Mö', 'The "Boss"'];
export const STREETS = [
  'Main Street', 'Rue de la Paix', 'Hauptstraße', 'Calle Mayor', 'Elm Avenue', 'Königsallee',
  'Via Roma', 'Baker Street', 'Nørregade', 'Ulica Floriańska', "Queen's Road", 'Rua Augusta',
];
export const CITIES: readonly { city: string; country: string }[] = [
  { city: 'Springfield', country: 'US' },
  { city: 'Paris', country: 'FR' },
  { city: 'Berlin', country: 'DE' },
  { city: 'Kraków', country: 'PL' },
  { city: 'São Paulo', country: 'BR' },
  { city: 'Zürich', country: 'CH' },
  { city: 'Tōkyō', country: 'JP' },
  { city: 'Reykjavík', country: 'IS' },
  { city: 'Montréal', country: 'CA' },
];
export const EMAIL_DOMAINS = ['example.com', 'example.org', 'mail.example.net', 'post.example.de'];
export const PHONE_KINDS = ['mobile', 'home', 'work'] as const;
export const NOTE_SENTENCES = [
  'Prefers to be contacted by email.',
  'Called on Tuesday about the "missing" invoice; said she\'d call back.',
  'Documents are in C:\\Users\\shared\\scans\\2019 — ask before moving them.',
  'Moved here from abroad; speaks English, Français and 日本語.',
  'Allergic to peanuts 🥜, keep away from the snack table.',
  'Tab-separated export attached:\tname\temail\tphone.',
  'Line one of the address note.\nLine two, after a newline.',
  'Discount agreed: 12.5% until the end of the quarter.',
  'Prefers “curly quotes” and ‘single ones’ in letters.',
  'Regex used for the import: ^[A-Z]\\d{3}$ (do not change).',
  'Birthday party 🎉 planned, budget €250.',
  'Asked us to spell the name exactly as on the passport.',
];
