// Placeholder until the screen lands.
import { html } from '../ui.js';

export function Booking({ desk }) {
  return html`<section class="desk-page" data-testid="page-booking"><h1>Booking</h1></section>`;
}
