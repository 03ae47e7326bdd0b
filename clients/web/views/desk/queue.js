// Placeholder until the screen lands.
import { html } from '../ui.js';

export function QueueView({ desk }) {
  return html`<section class="desk-page" data-testid="page-queue"><h1>QueueView</h1></section>`;
}
