// Placeholder until the screen lands.
import { html } from '../ui.js';

export function Clients({ desk }) {
  return html`<section class="desk-page" data-testid="page-clients"><h1>Clients</h1></section>`;
}
