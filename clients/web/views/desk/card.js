// Placeholder until the screen lands.
import { html } from '../ui.js';

export function Card({ desk }) {
  return html`<section class="desk-page" data-testid="page-card"><h1>Card</h1></section>`;
}
