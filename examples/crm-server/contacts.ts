/** The CRM example's data: a handful of fictional contacts kept in memory per server instance. */

/** One contact record. */
export interface Contact {
  id: string;
  name: string;
  company: string;
  email: string;
  phone: string;
  note: string;
}

/** A fresh copy of the sample contacts. */
export function sampleContacts(): Contact[] {
  return [
    {
      id: 'c-001',
      name: 'Ada Byron',
      company: 'Analytical Engines Ltd',
      email: 'ada@engines.example',
      phone: '+44 20 7946 0001',
      note: 'Prefers email.',
    },
    {
      id: 'c-002',
      name: 'Grace Hopper',
      company: 'Compiler Works',
      email: 'grace@compilers.example',
      phone: '+1 202 555 0102',
      note: 'Renewal due in March.',
    },
    {
      id: 'c-003',
      name: 'Alan Turing',
      company: 'Analytical Engines Ltd',
      email: 'alan@engines.example',
      phone: '+44 20 7946 0003',
      note: 'Interested in the analytics add-on.',
    },
    {
      id: 'c-004',
      name: 'Katherine Johnson',
      company: 'Orbital Data',
      email: 'katherine@orbital.example',
      phone: '+1 757 555 0104',
      note: 'Signed last week.',
    },
  ];
}

/** Contacts whose name, company or email contains `query` (case-insensitive); all when empty. */
export function searchContacts(contacts: readonly Contact[], query: string): Contact[] {
  const q = query.trim().toLowerCase();
  if (!q) return [...contacts];
  return contacts.filter((c) =>
    [c.name, c.company, c.email].some((field) => field.toLowerCase().includes(q)),
  );
}
