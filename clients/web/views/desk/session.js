// /desk/signin after a session expired on a tablet that kept its copy and its queue
// (proto.js `expired`): the page says how many edits wait and whose they are; the same
// person signing in gets them sent, anyone else is asked first, and proto.js deletes
// them before that person's data comes (never pushed under another name).
import { html } from '../ui.js';
import { t, addTexts } from '../../i18n.js';
import { SignIn } from '../signin.js';

addTexts({
  en: {
    ses_expired: 'Your session has ended. {n} edits are waiting on this tablet and will be sent after you sign in again.',
    ses_expired_one: 'Your session has ended. 1 edit is waiting on this tablet and will be sent after you sign in again.',
    ses_other: '{n} edits of {name} have not been sent; signing in as someone else deletes them.',
    ses_other_one: '1 edit of {name} has not been sent; signing in as someone else deletes it.',
    ses_confirm: 'This is not {name}\'s e-mail: signing in deletes {n} unsent edits of {name} from this tablet.',
    ses_confirm_one: 'This is not {name}\'s e-mail: signing in deletes 1 unsent edit of {name} from this tablet.',
    ses_confirm_button: 'Sign in and delete them',
  },
  sl: {
    ses_expired: 'Vaša seja je potekla. Na tej tablici čaka sprememb: {n}; poslane bodo, ko se znova prijavite.',
    ses_expired_one: 'Vaša seja je potekla. Na tej tablici čaka 1 sprememba; poslana bo, ko se znova prijavite.',
    ses_other: 'Sprememb osebe {name}, ki še niso poslane: {n}; prijava druge osebe jih izbriše.',
    ses_other_one: '1 sprememba osebe {name} še ni poslana; prijava druge osebe jo izbriše.',
    ses_confirm: 'To ni e-naslov osebe {name}: prijava s tablice izbriše neposlane spremembe osebe {name} ({n}).',
    ses_confirm_one: 'To ni e-naslov osebe {name}: prijava s tablice izbriše 1 neposlano spremembo osebe {name}.',
    ses_confirm_button: 'Prijavi in izbriši',
  },
  de: {
    ses_expired: 'Ihre Sitzung ist abgelaufen. {n} Änderungen warten auf diesem Tablet und werden gesendet, sobald Sie sich wieder anmelden.',
    ses_expired_one: 'Ihre Sitzung ist abgelaufen. 1 Änderung wartet auf diesem Tablet und wird gesendet, sobald Sie sich wieder anmelden.',
    ses_other: '{n} Änderungen von {name} wurden noch nicht gesendet; die Anmeldung einer anderen Person löscht sie.',
    ses_other_one: '1 Änderung von {name} wurde noch nicht gesendet; die Anmeldung einer anderen Person löscht sie.',
    ses_confirm: 'Das ist nicht die E-Mail von {name}: die Anmeldung löscht {n} nicht gesendete Änderungen von {name} auf diesem Tablet.',
    ses_confirm_one: 'Das ist nicht die E-Mail von {name}: die Anmeldung löscht 1 nicht gesendete Änderung von {name} auf diesem Tablet.',
    ses_confirm_button: 'Anmelden und löschen',
  },
  pl: {
    ses_expired: 'Sesja wygasła. Na tym tablecie czekają zmiany ({n}); zostaną wysłane po ponownym zalogowaniu.',
    ses_expired_one: 'Sesja wygasła. Na tym tablecie czeka 1 zmiana; zostanie wysłana po ponownym zalogowaniu.',
    ses_other: 'Niewysłane zmiany osoby {name}: {n}; zalogowanie innej osoby je usunie.',
    ses_other_one: '1 zmiana osoby {name} nie została wysłana; zalogowanie innej osoby ją usunie.',
    ses_confirm: 'To nie jest e-mail osoby {name}: zalogowanie usunie z tego tabletu niewysłane zmiany osoby {name} ({n}).',
    ses_confirm_one: 'To nie jest e-mail osoby {name}: zalogowanie usunie z tego tabletu 1 niewysłaną zmianę osoby {name}.',
    ses_confirm_button: 'Zaloguj i usuń',
  },
  fi: {
    ses_expired: 'Istuntosi on päättynyt. Tällä tabletilla odottaa {n} muutosta; ne lähetetään, kun kirjaudut uudelleen.',
    ses_expired_one: 'Istuntosi on päättynyt. Tällä tabletilla odottaa 1 muutos; se lähetetään, kun kirjaudut uudelleen.',
    ses_other: '{name}: {n} muutosta on lähettämättä; toisen henkilön kirjautuminen poistaa ne.',
    ses_other_one: '{name}: 1 muutos on lähettämättä; toisen henkilön kirjautuminen poistaa sen.',
    ses_confirm: 'Tämä ei ole henkilön {name} sähköposti: kirjautuminen poistaa tältä tabletilta {n} henkilön {name} lähettämätöntä muutosta.',
    ses_confirm_one: 'Tämä ei ole henkilön {name} sähköposti: kirjautuminen poistaa tältä tabletilta 1 henkilön {name} lähettämättömän muutoksen.',
    ses_confirm_button: 'Kirjaudu ja poista',
  },
});

const same = (a, b) => String(a || '').trim().toLowerCase() === String(b || '').trim().toLowerCase();

// kept: {id, name, email, n} of the copy left by an expired session (app.js), or null.
export function DeskSignIn({ proto, app, note, kept }) {
  if (!kept) return html`<${SignIn} proto=${proto} app=${app} note=${note} />`;
  const one = kept.n === 1;
  const vars = { n: kept.n, name: kept.name || '' };
  const confirm = (email) => (kept.n > 0 && kept.email && email && !same(email, kept.email)
    ? { text: t(one ? 'ses_confirm_one' : 'ses_confirm', vars), button: t('ses_confirm_button') } : null);
  return html`<div class="ses-kept" data-testid="ses-kept" data-n=${kept.n}>
    <p class="note" role="status" data-testid="ses-expired">${kept.n ? t(one ? 'ses_expired_one' : 'ses_expired', vars) : t('expired')}</p>
    ${kept.n > 0 && html`<p class="warn" data-testid="ses-other">${t(one ? 'ses_other_one' : 'ses_other', vars)}</p>`}
    <${SignIn} proto=${proto} app=${app} email=${kept.email || ''} confirm=${confirm} />
  </div>`;
}
