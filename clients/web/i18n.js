// Texts in five languages and dates in the branch's time zone. The language is
// localStorage 'kt.lang', else the first of navigator.languages we have, else English.
export const LANGS = { sl: 'Slovenščina', de: 'Deutsch', pl: 'Polski', fi: 'Suomi', en: 'English' };
const LOCALE = { sl: 'sl-SI', de: 'de-DE', pl: 'pl-PL', fi: 'fi-FI', en: 'en-GB' };

export const TEXTS = {
  en: {
    skip: 'Skip to content',
    staff_account: "This page is for the salon's clients. Staff sign in with the salon's app.",
    refuse_min_length: 'This password is too short: it needs at least 8 characters.',
    refuse_lower: 'This password needs a lower-case letter.',
    refuse_upper: 'This password needs an upper-case letter.',
    refuse_digit: 'This password needs a digit.',
    refuse_not_common: 'This password is too common: many people use it, so it is easy to guess.',
    nav_home: 'Home', nav_privacy: 'Privacy', nav_account: 'Account', signout: 'Sign out',
    language: 'Language', email: 'E-mail', password: 'Password',
    signin_title: 'Sign in', signin_submit: 'Sign in', forgot: 'Forgot password?',
    forgot_title: 'Forgot password',
    forgot_intro: 'Enter your e-mail address and we will send you a link to choose a new password.',
    send_link: 'Send me a link',
    forgot_sent: 'If an account exists for this address, a link is on its way. Check your inbox.',
    back_signin: 'Back to sign-in',
    auth_failed: 'Wrong e-mail or password.',
    throttled: 'Too many attempts. Please wait a few minutes and try again.',
    busy: 'The server is busy. Please try again in a moment.',
    network: 'No connection to the salon. Please try again when you are online.',
    account_suspended: 'Your e-mail address was changed. Please confirm it with the link we sent to the new address.',
    expired: 'Your session has ended. Please sign in again.',
    revoked: 'You were signed out on this device. Please sign in again.',
    device_revoked: 'The salon removed this device\'s access. Your data on it was deleted.',
    device_taken: 'Someone else used this device. Please sign in again.',
    signed_out: 'You are signed out. Your data was removed from this device.',
    setup_title: 'Choose your password', new_password: 'New password',
    rules_title: 'Password rules',
    rule_min_length: 'at least 8 characters', rule_lower: 'a lower-case letter',
    rule_upper: 'an upper-case letter', rule_digit: 'a digit',
    rule_not_common: 'not a common password',
    setup_submit: 'Save password',
    setup_done: 'Your password is saved. Sign in with your e-mail address and the new password.',
    link_missing: 'This page needs the link from your e-mail. Open the link again, or ask for a new one.',
    token_used: 'This link was used already.',
    token_expired: 'This link has expired.',
    token_replaced: 'A newer link was sent to you, so this one no longer works.',
    token_invalid: 'This link is not valid.',
    new_link_intro: 'Enter your e-mail address and we will send you a new link.',
    send_new_link: 'Send me a new link',
    confirm_title: 'Confirm your new e-mail address',
    confirm_intro: 'Enter your password to confirm the new address.',
    confirm_submit: 'Confirm', confirm_done: 'Your address is confirmed. Sign in with it.',
    next_appt: 'Your next appointment', upcoming: 'Upcoming appointments', past: 'Past visits',
    no_upcoming: 'No upcoming appointments.', no_visits: 'No past visits yet.',
    last_updated: 'Last updated {time}', never_updated: 'Not updated yet',
    offline: 'Offline: showing your saved copy', add_calendar: 'Add to calendar',
    call: 'Call {phone}', map: 'Map', minutes: '{n} min',
    consents: 'Your choices', marketing_email: 'News and offers by e-mail',
    marketing_sms: 'News and offers by SMS', consent_saved: 'Your choice is saved.',
    export_title: 'Your data', export_intro: 'A copy of everything the salon keeps about you, as a file.',
    export: 'Download my data', export_done: 'Your data was downloaded.',
    erase_title: 'Delete my data',
    erase_intro: 'Ask the salon to delete your data. It has one month to do so. Records the salon must keep for its accounts stay, without your name.',
    erase_request: 'Delete my data',
    erase_q: 'Are you sure? When the salon deletes your data, you are signed out and cannot sign in again.',
    erase_confirm: 'Yes, delete my data', cancel: 'Cancel',
    erasure_state: 'Deletion requested {requested}, due {due}.',
    notice_title: 'Privacy notice',
    change_password: 'Change password', old_password: 'Current password',
    change_submit: 'Change password',
    password_changed: 'Your password is changed. Your other devices were signed out.',
    new_equals_old: 'The new password must differ from the current one.',
    wrong_old: 'The current password is not right.',
    signed_in_as: 'Signed in as {email}', loading: 'Loading…',
    error_generic: 'Something went wrong ({code}): {msg}',
    rate_limited: 'Too many changes in a short time. Please try again in a minute.',
    busy_export: 'An export is already on its way.',
    default_notice: [
      'The salon is the controller of your personal data. It keeps your contact details, your appointments and what was done at your visits to serve you, and health details (such as allergies) only to treat you safely.',
      'You may see and download your data at any time on this page (right of access and portability), ask the salon to correct it, to restrict its use or to delete it, and object to its use.',
      'You may withdraw a consent at any time with the switches on this page; withdrawing does not affect what was done before.',
      'If you think your data is handled unlawfully, you may complain to the data protection authority of your country.',
    ],
  },
  sl: {
    skip: 'Preskoči na vsebino',
    staff_account: "Ta stran je namenjena strankam salona. Zaposleni se prijavijo v aplikacijo salona.",
    refuse_min_length: 'Geslo je prekratko: imeti mora vsaj 8 znakov.',
    refuse_lower: 'Geslo mora vsebovati malo črko.',
    refuse_upper: 'Geslo mora vsebovati veliko črko.',
    refuse_digit: 'Geslo mora vsebovati številko.',
    refuse_not_common: 'Geslo je preveč pogosto: uporablja ga veliko ljudi, zato ga je lahko uganiti.',
    nav_home: 'Domov', nav_privacy: 'Zasebnost', nav_account: 'Račun', signout: 'Odjava',
    language: 'Jezik', email: 'E-pošta', password: 'Geslo',
    signin_title: 'Prijava', signin_submit: 'Prijava', forgot: 'Ste pozabili geslo?',
    forgot_title: 'Pozabljeno geslo',
    forgot_intro: 'Vpišite svoj e-poštni naslov in poslali vam bomo povezavo za novo geslo.',
    send_link: 'Pošlji povezavo',
    forgot_sent: 'Če za ta naslov obstaja račun, je povezava že na poti. Preglejte svoj nabiralnik.',
    back_signin: 'Nazaj na prijavo',
    auth_failed: 'Napačen e-poštni naslov ali geslo.',
    throttled: 'Preveč poskusov. Počakajte nekaj minut in poskusite znova.',
    busy: 'Strežnik je zaseden. Poskusite znova čez trenutek.',
    network: 'Ni povezave s salonom. Poskusite znova, ko boste povezani.',
    account_suspended: 'Vaš e-poštni naslov je bil spremenjen. Potrdite ga s povezavo, ki smo jo poslali na novi naslov.',
    expired: 'Vaša seja je potekla. Prijavite se znova.',
    revoked: 'Na tej napravi ste bili odjavljeni. Prijavite se znova.',
    device_revoked: 'Salon je tej napravi odvzel dostop. Vaši podatki na njej so izbrisani.',
    device_taken: 'To napravo je uporabljal nekdo drug. Prijavite se znova.',
    signed_out: 'Odjavljeni ste. Vaši podatki so odstranjeni s te naprave.',
    setup_title: 'Izberite geslo', new_password: 'Novo geslo',
    rules_title: 'Pravila za geslo',
    rule_min_length: 'vsaj 8 znakov', rule_lower: 'mala črka', rule_upper: 'velika črka',
    rule_digit: 'številka', rule_not_common: 'ni na seznamu pogostih gesel',
    setup_submit: 'Shrani geslo',
    setup_done: 'Geslo je shranjeno. Prijavite se s svojim e-poštnim naslovom in novim geslom.',
    link_missing: 'Ta stran potrebuje povezavo iz vaše e-pošte. Odprite povezavo znova ali zahtevajte novo.',
    token_used: 'Ta povezava je že bila uporabljena.',
    token_expired: 'Ta povezava je potekla.',
    token_replaced: 'Poslali smo vam novejšo povezavo, zato ta ne deluje več.',
    token_invalid: 'Ta povezava ni veljavna.',
    new_link_intro: 'Vpišite svoj e-poštni naslov in poslali vam bomo novo povezavo.',
    send_new_link: 'Pošlji mi novo povezavo',
    confirm_title: 'Potrdite novi e-poštni naslov',
    confirm_intro: 'Vpišite svoje geslo, da potrdite novi naslov.',
    confirm_submit: 'Potrdi', confirm_done: 'Naslov je potrjen. Prijavite se z njim.',
    next_appt: 'Vaš naslednji termin', upcoming: 'Prihodnji termini', past: 'Pretekli obiski',
    no_upcoming: 'Nimate prihodnjih terminov.', no_visits: 'Še nimate preteklih obiskov.',
    last_updated: 'Zadnja posodobitev {time}', never_updated: 'Še ni posodobljeno',
    offline: 'Brez povezave: prikazana je shranjena kopija', add_calendar: 'Dodaj v koledar',
    call: 'Pokliči {phone}', map: 'Zemljevid', minutes: '{n} min',
    consents: 'Vaše privolitve', marketing_email: 'Novice in ponudbe po e-pošti',
    marketing_sms: 'Novice in ponudbe po SMS', consent_saved: 'Vaša izbira je shranjena.',
    export_title: 'Vaši podatki', export_intro: 'Kopija vsega, kar salon hrani o vas, v datoteki.',
    export: 'Prenesi moje podatke', export_done: 'Vaši podatki so preneseni.',
    erase_title: 'Izbriši moje podatke',
    erase_intro: 'Zaprosite salon, naj izbriše vaše podatke. Za to ima en mesec časa. Zapisi, ki jih mora salon hraniti za računovodstvo, ostanejo, a brez vašega imena.',
    erase_request: 'Izbriši moje podatke',
    erase_q: 'Ste prepričani? Ko salon izbriše vaše podatke, boste odjavljeni in se ne boste mogli več prijaviti.',
    erase_confirm: 'Da, izbriši moje podatke', cancel: 'Prekliči',
    erasure_state: 'Izbris zahtevan {requested}, rok {due}.',
    notice_title: 'Obvestilo o zasebnosti',
    change_password: 'Sprememba gesla', old_password: 'Trenutno geslo',
    change_submit: 'Spremeni geslo',
    password_changed: 'Geslo je spremenjeno. Vaše druge naprave so odjavljene.',
    new_equals_old: 'Novo geslo se mora razlikovati od trenutnega.',
    wrong_old: 'Trenutno geslo ni pravilno.',
    signed_in_as: 'Prijavljeni kot {email}', loading: 'Nalaganje …',
    error_generic: 'Prišlo je do napake ({code}): {msg}',
    rate_limited: 'Preveč sprememb v kratkem času. Poskusite znova čez minuto.',
    busy_export: 'Izvoz je že na poti.',
    default_notice: [
      'Salon je upravljavec vaših osebnih podatkov. Vaše kontaktne podatke, termine in opravljene storitve hrani, da vam lahko streže, zdravstvene podatke (na primer alergije) pa le za varno izvedbo storitev.',
      'Svoje podatke lahko kadar koli pregledate in prenesete na tej strani (pravica do dostopa in prenosljivosti), salon pa lahko zaprosite za popravek, omejitev obdelave ali izbris ter ugovarjate obdelavi.',
      'Privolitev lahko kadar koli prekličete s stikali na tej strani; preklic ne vpliva na to, kar je bilo storjeno prej.',
      'Če menite, da se z vašimi podatki ravna nezakonito, se lahko pritožite pri nadzornem organu za varstvo podatkov v svoji državi.',
    ],
  },
  de: {
    skip: 'Zum Inhalt springen',
    staff_account: "Diese Seite ist für die Kundinnen und Kunden des Salons. Mitarbeitende melden sich in der App des Salons an.",
    refuse_min_length: 'Dieses Passwort ist zu kurz: Es braucht mindestens 8 Zeichen.',
    refuse_lower: 'Dieses Passwort braucht einen Kleinbuchstaben.',
    refuse_upper: 'Dieses Passwort braucht einen Großbuchstaben.',
    refuse_digit: 'Dieses Passwort braucht eine Ziffer.',
    refuse_not_common: 'Dieses Passwort ist zu gängig: Viele Menschen verwenden es, daher ist es leicht zu erraten.',
    nav_home: 'Start', nav_privacy: 'Datenschutz', nav_account: 'Konto', signout: 'Abmelden',
    language: 'Sprache', email: 'E-Mail', password: 'Passwort',
    signin_title: 'Anmelden', signin_submit: 'Anmelden', forgot: 'Passwort vergessen?',
    forgot_title: 'Passwort vergessen',
    forgot_intro: 'Geben Sie Ihre E-Mail-Adresse ein. Wir senden Ihnen einen Link, mit dem Sie ein neues Passwort wählen.',
    send_link: 'Link senden',
    forgot_sent: 'Falls es zu dieser Adresse ein Konto gibt, ist ein Link unterwegs. Sehen Sie in Ihrem Posteingang nach.',
    back_signin: 'Zurück zur Anmeldung',
    auth_failed: 'E-Mail oder Passwort ist falsch.',
    throttled: 'Zu viele Versuche. Bitte warten Sie einige Minuten und versuchen Sie es erneut.',
    busy: 'Der Server ist ausgelastet. Bitte versuchen Sie es gleich noch einmal.',
    network: 'Keine Verbindung zum Salon. Bitte versuchen Sie es erneut, sobald Sie online sind.',
    account_suspended: 'Ihre E-Mail-Adresse wurde geändert. Bitte bestätigen Sie sie mit dem Link, den wir an die neue Adresse gesendet haben.',
    expired: 'Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.',
    revoked: 'Sie wurden auf diesem Gerät abgemeldet. Bitte melden Sie sich erneut an.',
    device_revoked: 'Der Salon hat diesem Gerät den Zugang entzogen. Ihre Daten darauf wurden gelöscht.',
    device_taken: 'Jemand anderes hat dieses Gerät benutzt. Bitte melden Sie sich erneut an.',
    signed_out: 'Sie sind abgemeldet. Ihre Daten wurden von diesem Gerät entfernt.',
    setup_title: 'Passwort wählen', new_password: 'Neues Passwort',
    rules_title: 'Regeln für Ihr Passwort',
    rule_min_length: 'mindestens 8 Zeichen', rule_lower: 'ein Kleinbuchstabe',
    rule_upper: 'ein Großbuchstabe', rule_digit: 'eine Ziffer',
    rule_not_common: 'kein gängiges Passwort',
    setup_submit: 'Passwort speichern',
    setup_done: 'Ihr Passwort ist gespeichert. Melden Sie sich mit Ihrer E-Mail-Adresse und dem neuen Passwort an.',
    link_missing: 'Diese Seite braucht den Link aus Ihrer E-Mail. Öffnen Sie den Link erneut oder fordern Sie einen neuen an.',
    token_used: 'Dieser Link wurde bereits verwendet.',
    token_expired: 'Dieser Link ist abgelaufen.',
    token_replaced: 'Wir haben Ihnen einen neueren Link gesendet, dieser gilt nicht mehr.',
    token_invalid: 'Dieser Link ist ungültig.',
    new_link_intro: 'Geben Sie Ihre E-Mail-Adresse ein, und wir senden Ihnen einen neuen Link.',
    send_new_link: 'Neuen Link senden',
    confirm_title: 'Neue E-Mail-Adresse bestätigen',
    confirm_intro: 'Geben Sie Ihr Passwort ein, um die neue Adresse zu bestätigen.',
    confirm_submit: 'Bestätigen', confirm_done: 'Ihre Adresse ist bestätigt. Melden Sie sich damit an.',
    next_appt: 'Ihr nächster Termin', upcoming: 'Kommende Termine', past: 'Frühere Besuche',
    no_upcoming: 'Keine kommenden Termine.', no_visits: 'Noch keine früheren Besuche.',
    last_updated: 'Zuletzt aktualisiert {time}', never_updated: 'Noch nicht aktualisiert',
    offline: 'Offline: Ihre gespeicherte Kopie wird angezeigt', add_calendar: 'In den Kalender',
    call: '{phone} anrufen', map: 'Karte', minutes: '{n} Min.',
    consents: 'Ihre Einwilligungen', marketing_email: 'Neuigkeiten und Angebote per E-Mail',
    marketing_sms: 'Neuigkeiten und Angebote per SMS', consent_saved: 'Ihre Wahl ist gespeichert.',
    export_title: 'Ihre Daten', export_intro: 'Eine Kopie von allem, was der Salon über Sie speichert, als Datei.',
    export: 'Meine Daten herunterladen', export_done: 'Ihre Daten wurden heruntergeladen.',
    erase_title: 'Meine Daten löschen',
    erase_intro: 'Bitten Sie den Salon, Ihre Daten zu löschen. Er hat dafür einen Monat Zeit. Belege, die der Salon für die Buchhaltung aufbewahren muss, bleiben ohne Ihren Namen erhalten.',
    erase_request: 'Meine Daten löschen',
    erase_q: 'Sind Sie sicher? Sobald der Salon Ihre Daten löscht, werden Sie abgemeldet und können sich nicht mehr anmelden.',
    erase_confirm: 'Ja, meine Daten löschen', cancel: 'Abbrechen',
    erasure_state: 'Löschung beantragt am {requested}, fällig am {due}.',
    notice_title: 'Datenschutzhinweis',
    change_password: 'Passwort ändern', old_password: 'Aktuelles Passwort',
    change_submit: 'Passwort ändern',
    password_changed: 'Ihr Passwort ist geändert. Ihre anderen Geräte wurden abgemeldet.',
    new_equals_old: 'Das neue Passwort muss sich vom aktuellen unterscheiden.',
    wrong_old: 'Das aktuelle Passwort ist nicht richtig.',
    signed_in_as: 'Angemeldet als {email}', loading: 'Wird geladen …',
    error_generic: 'Etwas ist schiefgegangen ({code}): {msg}',
    rate_limited: 'Zu viele Änderungen in kurzer Zeit. Bitte versuchen Sie es in einer Minute erneut.',
    busy_export: 'Ein Export ist bereits unterwegs.',
    default_notice: [
      'Der Salon ist Verantwortlicher für Ihre personenbezogenen Daten. Er speichert Ihre Kontaktdaten, Termine und die bei Ihren Besuchen erbrachten Leistungen, um Sie zu bedienen, und Gesundheitsangaben (etwa Allergien) nur, um Sie sicher zu behandeln.',
      'Sie können Ihre Daten jederzeit auf dieser Seite einsehen und herunterladen (Recht auf Auskunft und Datenübertragbarkeit), den Salon um Berichtigung, Einschränkung der Verarbeitung oder Löschung bitten und der Verarbeitung widersprechen.',
      'Eine Einwilligung können Sie jederzeit mit den Schaltern auf dieser Seite widerrufen; der Widerruf berührt nicht, was vorher geschehen ist.',
      'Wenn Sie meinen, dass Ihre Daten rechtswidrig verarbeitet werden, können Sie sich bei der Datenschutzaufsichtsbehörde Ihres Landes beschweren.',
    ],
  },
  pl: {
    skip: 'Przejdź do treści',
    staff_account: "Ta strona jest przeznaczona dla klientów salonu. Pracownicy logują się w aplikacji salonu.",
    refuse_min_length: 'To hasło jest za krótkie: musi mieć co najmniej 8 znaków.',
    refuse_lower: 'To hasło musi zawierać małą literę.',
    refuse_upper: 'To hasło musi zawierać wielką literę.',
    refuse_digit: 'To hasło musi zawierać cyfrę.',
    refuse_not_common: 'To hasło jest zbyt popularne: używa go wiele osób, więc łatwo je odgadnąć.',
    nav_home: 'Start', nav_privacy: 'Prywatność', nav_account: 'Konto', signout: 'Wyloguj się',
    language: 'Język', email: 'E-mail', password: 'Hasło',
    signin_title: 'Logowanie', signin_submit: 'Zaloguj się', forgot: 'Nie pamiętasz hasła?',
    forgot_title: 'Nie pamiętam hasła',
    forgot_intro: 'Podaj swój adres e-mail, a wyślemy Ci link do ustawienia nowego hasła.',
    send_link: 'Wyślij link',
    forgot_sent: 'Jeśli dla tego adresu istnieje konto, link jest już w drodze. Sprawdź skrzynkę.',
    back_signin: 'Wróć do logowania',
    auth_failed: 'Nieprawidłowy e-mail lub hasło.',
    throttled: 'Zbyt wiele prób. Odczekaj kilka minut i spróbuj ponownie.',
    busy: 'Serwer jest zajęty. Spróbuj ponownie za chwilę.',
    network: 'Brak połączenia z salonem. Spróbuj ponownie, gdy będziesz online.',
    account_suspended: 'Twój adres e-mail został zmieniony. Potwierdź go linkiem wysłanym na nowy adres.',
    expired: 'Twoja sesja wygasła. Zaloguj się ponownie.',
    revoked: 'Wylogowano Cię na tym urządzeniu. Zaloguj się ponownie.',
    device_revoked: 'Salon odebrał temu urządzeniu dostęp. Twoje dane zostały z niego usunięte.',
    device_taken: 'Z tego urządzenia korzystał ktoś inny. Zaloguj się ponownie.',
    signed_out: 'Wylogowano. Twoje dane zostały usunięte z tego urządzenia.',
    setup_title: 'Ustaw hasło', new_password: 'Nowe hasło',
    rules_title: 'Zasady dotyczące hasła',
    rule_min_length: 'co najmniej 8 znaków', rule_lower: 'mała litera', rule_upper: 'wielka litera',
    rule_digit: 'cyfra', rule_not_common: 'hasło spoza listy popularnych haseł',
    setup_submit: 'Zapisz hasło',
    setup_done: 'Hasło zostało zapisane. Zaloguj się adresem e-mail i nowym hasłem.',
    link_missing: 'Ta strona wymaga linku z wiadomości e-mail. Otwórz link ponownie lub poproś o nowy.',
    token_used: 'Ten link został już użyty.',
    token_expired: 'Ten link wygasł.',
    token_replaced: 'Wysłaliśmy Ci nowszy link, więc ten już nie działa.',
    token_invalid: 'Ten link jest nieprawidłowy.',
    new_link_intro: 'Podaj swój adres e-mail, a wyślemy Ci nowy link.',
    send_new_link: 'Wyślij mi nowy link',
    confirm_title: 'Potwierdź nowy adres e-mail',
    confirm_intro: 'Podaj swoje hasło, aby potwierdzić nowy adres.',
    confirm_submit: 'Potwierdź', confirm_done: 'Adres został potwierdzony. Zaloguj się nim.',
    next_appt: 'Twoja najbliższa wizyta', upcoming: 'Nadchodzące wizyty', past: 'Poprzednie wizyty',
    no_upcoming: 'Brak nadchodzących wizyt.', no_visits: 'Nie ma jeszcze poprzednich wizyt.',
    last_updated: 'Ostatnia aktualizacja {time}', never_updated: 'Jeszcze nie zaktualizowano',
    offline: 'Offline: wyświetlana jest zapisana kopia', add_calendar: 'Dodaj do kalendarza',
    call: 'Zadzwoń {phone}', map: 'Mapa', minutes: '{n} min',
    consents: 'Twoje zgody', marketing_email: 'Nowości i oferty e-mailem',
    marketing_sms: 'Nowości i oferty SMS-em', consent_saved: 'Twój wybór został zapisany.',
    export_title: 'Twoje dane', export_intro: 'Kopia wszystkiego, co salon o Tobie przechowuje, w pliku.',
    export: 'Pobierz moje dane', export_done: 'Twoje dane zostały pobrane.',
    erase_title: 'Usuń moje dane',
    erase_intro: 'Poproś salon o usunięcie Twoich danych. Ma na to miesiąc. Zapisy, które salon musi przechowywać do rozliczeń, pozostaną, ale bez Twojego nazwiska.',
    erase_request: 'Usuń moje dane',
    erase_q: 'Czy na pewno? Gdy salon usunie Twoje dane, zostaniesz wylogowany i nie będziesz mógł się ponownie zalogować.',
    erase_confirm: 'Tak, usuń moje dane', cancel: 'Anuluj',
    erasure_state: 'Usunięcie zgłoszone {requested}, termin {due}.',
    notice_title: 'Informacja o prywatności',
    change_password: 'Zmiana hasła', old_password: 'Obecne hasło',
    change_submit: 'Zmień hasło',
    password_changed: 'Hasło zostało zmienione. Pozostałe urządzenia zostały wylogowane.',
    new_equals_old: 'Nowe hasło musi się różnić od obecnego.',
    wrong_old: 'Obecne hasło jest nieprawidłowe.',
    signed_in_as: 'Zalogowano jako {email}', loading: 'Ładowanie…',
    error_generic: 'Coś poszło nie tak ({code}): {msg}',
    rate_limited: 'Zbyt wiele zmian w krótkim czasie. Spróbuj ponownie za minutę.',
    busy_export: 'Eksport jest już w drodze.',
    default_notice: [
      'Administratorem Twoich danych osobowych jest salon. Przechowuje Twoje dane kontaktowe, wizyty i wykonane usługi, aby Cię obsłużyć, a dane o zdrowiu (np. alergie) tylko po to, by bezpiecznie wykonać zabieg.',
      'Na tej stronie możesz w każdej chwili przejrzeć i pobrać swoje dane (prawo dostępu i przenoszenia), a także poprosić salon o ich sprostowanie, ograniczenie przetwarzania lub usunięcie oraz wnieść sprzeciw.',
      'Zgodę możesz w każdej chwili wycofać przełącznikami na tej stronie; wycofanie nie wpływa na to, co zrobiono wcześniej.',
      'Jeśli uważasz, że Twoje dane są przetwarzane niezgodnie z prawem, możesz złożyć skargę do organu ochrony danych w swoim kraju.',
    ],
  },
  fi: {
    skip: 'Siirry sisältöön',
    staff_account: "Tämä sivu on salongin asiakkaille. Henkilökunta kirjautuu salongin sovellukseen.",
    refuse_min_length: 'Salasana on liian lyhyt: siinä on oltava vähintään 8 merkkiä.',
    refuse_lower: 'Salasanassa on oltava pieni kirjain.',
    refuse_upper: 'Salasanassa on oltava iso kirjain.',
    refuse_digit: 'Salasanassa on oltava numero.',
    refuse_not_common: 'Salasana on liian yleinen: moni käyttää sitä, joten se on helppo arvata.',
    nav_home: 'Etusivu', nav_privacy: 'Tietosuoja', nav_account: 'Tili', signout: 'Kirjaudu ulos',
    language: 'Kieli', email: 'Sähköposti', password: 'Salasana',
    signin_title: 'Kirjaudu sisään', signin_submit: 'Kirjaudu', forgot: 'Unohditko salasanan?',
    forgot_title: 'Unohtunut salasana',
    forgot_intro: 'Anna sähköpostiosoitteesi, niin lähetämme linkin uuden salasanan valitsemiseen.',
    send_link: 'Lähetä linkki',
    forgot_sent: 'Jos osoitteelle on tili, linkki on matkalla. Katso saapuneet viestit.',
    back_signin: 'Takaisin kirjautumiseen',
    auth_failed: 'Väärä sähköposti tai salasana.',
    throttled: 'Liian monta yritystä. Odota muutama minuutti ja yritä uudelleen.',
    busy: 'Palvelin on kiireinen. Yritä hetken päästä uudelleen.',
    network: 'Ei yhteyttä salonkiin. Yritä uudelleen, kun olet verkossa.',
    account_suspended: 'Sähköpostiosoitteesi on vaihdettu. Vahvista se linkillä, jonka lähetimme uuteen osoitteeseen.',
    expired: 'Istuntosi on päättynyt. Kirjaudu uudelleen.',
    revoked: 'Sinut kirjattiin ulos tällä laitteella. Kirjaudu uudelleen.',
    device_revoked: 'Salonki poisti tämän laitteen käyttöoikeuden. Tietosi on poistettu laitteelta.',
    device_taken: 'Joku muu käytti tätä laitetta. Kirjaudu uudelleen.',
    signed_out: 'Olet kirjautunut ulos. Tietosi on poistettu tältä laitteelta.',
    setup_title: 'Valitse salasana', new_password: 'Uusi salasana',
    rules_title: 'Salasanan säännöt',
    rule_min_length: 'vähintään 8 merkkiä', rule_lower: 'pieni kirjain', rule_upper: 'iso kirjain',
    rule_digit: 'numero', rule_not_common: 'ei yleisesti käytetty salasana',
    setup_submit: 'Tallenna salasana',
    setup_done: 'Salasana on tallennettu. Kirjaudu sähköpostiosoitteellasi ja uudella salasanalla.',
    link_missing: 'Tämä sivu tarvitsee sähköpostisi linkin. Avaa linkki uudelleen tai pyydä uusi.',
    token_used: 'Tätä linkkiä on jo käytetty.',
    token_expired: 'Tämä linkki on vanhentunut.',
    token_replaced: 'Sinulle on lähetetty uudempi linkki, joten tämä ei enää toimi.',
    token_invalid: 'Tämä linkki ei kelpaa.',
    new_link_intro: 'Anna sähköpostiosoitteesi, niin lähetämme uuden linkin.',
    send_new_link: 'Lähetä uusi linkki',
    confirm_title: 'Vahvista uusi sähköpostiosoite',
    confirm_intro: 'Anna salasanasi vahvistaaksesi uuden osoitteen.',
    confirm_submit: 'Vahvista', confirm_done: 'Osoite on vahvistettu. Kirjaudu sillä.',
    next_appt: 'Seuraava aikasi', upcoming: 'Tulevat ajat', past: 'Aiemmat käynnit',
    no_upcoming: 'Ei tulevia aikoja.', no_visits: 'Ei vielä aiempia käyntejä.',
    last_updated: 'Päivitetty viimeksi {time}', never_updated: 'Ei vielä päivitetty',
    offline: 'Ei yhteyttä: näytetään tallennettu kopio', add_calendar: 'Lisää kalenteriin',
    call: 'Soita {phone}', map: 'Kartta', minutes: '{n} min',
    consents: 'Suostumuksesi', marketing_email: 'Uutiset ja tarjoukset sähköpostilla',
    marketing_sms: 'Uutiset ja tarjoukset tekstiviestillä', consent_saved: 'Valintasi on tallennettu.',
    export_title: 'Tietosi', export_intro: 'Kopio kaikesta, mitä salonki sinusta säilyttää, tiedostona.',
    export: 'Lataa tietoni', export_done: 'Tietosi on ladattu.',
    erase_title: 'Poista tietoni',
    erase_intro: 'Pyydä salonkia poistamaan tietosi. Sillä on siihen kuukausi aikaa. Kirjanpitoa varten säilytettävät tiedot jäävät, mutta ilman nimeäsi.',
    erase_request: 'Poista tietoni',
    erase_q: 'Oletko varma? Kun salonki poistaa tietosi, sinut kirjataan ulos etkä voi enää kirjautua.',
    erase_confirm: 'Kyllä, poista tietoni', cancel: 'Peruuta',
    erasure_state: 'Poistoa pyydetty {requested}, määräaika {due}.',
    notice_title: 'Tietosuojaseloste',
    change_password: 'Vaihda salasana', old_password: 'Nykyinen salasana',
    change_submit: 'Vaihda salasana',
    password_changed: 'Salasana on vaihdettu. Muut laitteesi kirjattiin ulos.',
    new_equals_old: 'Uuden salasanan on oltava eri kuin nykyinen.',
    wrong_old: 'Nykyinen salasana on väärä.',
    signed_in_as: 'Kirjautuneena: {email}', loading: 'Ladataan…',
    error_generic: 'Jokin meni vikaan ({code}): {msg}',
    rate_limited: 'Liian monta muutosta lyhyessä ajassa. Yritä minuutin päästä uudelleen.',
    busy_export: 'Vienti on jo matkalla.',
    default_notice: [
      'Salonki on henkilötietojesi rekisterinpitäjä. Se säilyttää yhteystietosi, aikasi ja käynneillä tehdyt palvelut palvellakseen sinua, ja terveystietoja (kuten allergiat) vain hoitaakseen sinua turvallisesti.',
      'Voit milloin tahansa tarkastella ja ladata tietosi tällä sivulla (oikeus saada pääsy tietoihin ja siirtää ne), pyytää salonkia oikaisemaan, rajoittamaan tai poistamaan ne sekä vastustaa käsittelyä.',
      'Voit perua suostumuksen milloin tahansa tämän sivun valitsimilla; peruminen ei vaikuta aiemmin tehtyyn.',
      'Jos katsot, että tietojasi käsitellään lainvastaisesti, voit tehdä valituksen maasi tietosuojaviranomaiselle.',
    ],
  },
};
const T = TEXTS;

let lang = pickLang();

function pickLang() {
  const saved = localStorage.getItem('kt.lang');
  if (saved && T[saved]) return saved;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (T[base]) return base;
  }
  return 'en';
}

export function getLang() { return lang; }

// A screen's own texts, {en: {...}, sl: {...}, ...}, merged in when its module loads;
// every language must have every key (tests/test_modules.mjs checks TEXTS after all
// modules are imported).
export function addTexts(dicts) {
  for (const [l, d] of Object.entries(dicts)) {
    if (!T[l]) throw new Error(`addTexts: no language ${l}`);
    for (const k of Object.keys(d)) if (k in T[l] && T[l][k] !== d[k]) throw new Error(`addTexts: ${l}.${k} twice`);
    Object.assign(T[l], d);
  }
}

// keep = false: for this page only (a link page takes the client's language from the
// server unless a language was chosen on this device).
export function setLang(l, keep = true) {
  if (!T[l]) return;
  lang = l;
  if (keep) localStorage.setItem('kt.lang', l);
  document.documentElement.lang = l;
}

export function locale() { return LOCALE[lang]; }

export function t(key, vars) {
  let s = T[lang][key] ?? T.en[key] ?? key;
  if (vars && typeof s === 'string') s = s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
  return s;
}

const fmtCache = new Map();
function fmt(opts, tz) {
  const key = lang + '|' + (tz || '') + '|' + JSON.stringify(opts);
  let f = fmtCache.get(key);
  if (!f) {
    try {
      f = new Intl.DateTimeFormat(LOCALE[lang], tz ? { ...opts, timeZone: tz } : opts);
    } catch { // a zone this browser does not know: the device's own
      f = new Intl.DateTimeFormat(LOCALE[lang], opts);
    }
    fmtCache.set(key, f);
  }
  return f;
}

// "Monday 4 November, 10:30" in the branch's zone.
export function when(ms, tz) {
  const day = fmt({ weekday: 'long', day: 'numeric', month: 'long', year: yearIfNotThis(ms, tz) }, tz).format(ms);
  const time = fmt({ hour: '2-digit', minute: '2-digit' }, tz).format(ms);
  return `${day}, ${time}`;
}

// The branch zone's short name ("CET"), only when it is not the device's own zone
// (a client abroad reads the salon's clock, and is told so).
let deviceZone; // asked once: a new formatter per row cost ~50 ms for 200 rows
export function zoneLabel(ms, tz) {
  deviceZone ??= Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!tz || tz === deviceZone) return '';
  try {
    const part = fmt({ hour: 'numeric', timeZoneName: 'short' }, tz).formatToParts(ms).find((p) => p.type === 'timeZoneName');
    return part ? part.value : '';
  } catch {
    return '';
  }
}

function yearIfNotThis(ms, tz) {
  const y = (x) => fmt({ year: 'numeric' }, tz).format(x);
  return y(ms) === y(Date.now()) ? undefined : 'numeric';
}

// A calendar date "2026-11-04" as "4 November 2026" (no zone: it is a date, not an instant).
export function dateOnly(ymd) {
  const [y, m, d] = String(ymd).split('-').map(Number);
  if (!y || !m || !d) return String(ymd || '');
  return fmt({ day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, d));
}

// A moment in the device's own zone, for "last updated" and request dates.
export function localDateTime(ms) {
  return fmt({ day: 'numeric', month: 'long', year: 'numeric', hour: '2-digit', minute: '2-digit' }).format(ms);
}

export function localDate(ms) {
  return fmt({ day: 'numeric', month: 'long', year: 'numeric' }).format(ms);
}
