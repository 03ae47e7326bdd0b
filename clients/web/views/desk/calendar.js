// Placeholder until the screen lands.
import { html } from '../ui.js';

export function Calendar({ desk }) {
  return html`<section class="desk-page" data-testid="page-calendar"><h1>Calendar</h1></section>`;
}
