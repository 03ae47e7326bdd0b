// Placeholder until the screen lands.
import { html } from '../ui.js';

export function History({ desk }) {
  return html`<section class="desk-page" data-testid="page-history"><h1>History</h1></section>`;
}
