"""Built-in word lists for people, so demo data needs no Faker at runtime.

The lists are tuples (never sets): the generator indexes into them with a
seeded ``random.Random``, and a stable order is what makes a seed reproduce
the same people on every machine.
"""

from __future__ import annotations

# Kept compact, ten to a line; the formatter would spread them one per line.
# fmt: off
FIRST_NAMES: tuple[str, ...] = (
    "Aaliyah", "Aarav", "Abdullah", "Abigail", "Ada", "Adam", "Adrian", "Aisha", "Alejandro", "Alex",
    "Alice", "Amara", "Amelia", "Amir", "Ana", "Andre", "Anya", "Arjun", "Ava", "Ayaan",
    "Beatriz", "Ben", "Bianca", "Caleb", "Camila", "Carlos", "Chen", "Chloe", "Daniel", "David",
    "Diego", "Dylan", "Elena", "Eli", "Elif", "Ella", "Emeka", "Emily", "Emma", "Ethan",
    "Eva", "Fatima", "Felix", "Finn", "Freya", "Gabriel", "Grace", "Hana", "Hannah", "Harper",
    "Hassan", "Hugo", "Ibrahim", "Imani", "Isaac", "Isabella", "Ivan", "Jack", "Jamal", "James",
    "Jasmine", "Javier", "Jia", "Jonah", "Jose", "Julia", "Kai", "Kavya", "Kenji", "Keira",
    "Layla", "Leo", "Liam", "Lily", "Lucas", "Lucia", "Luis", "Maya", "Mei", "Mia",
    "Mohammed", "Nadia", "Naomi", "Noah", "Nora", "Oliver", "Olivia", "Omar", "Priya", "Rafael",
    "Rania", "Rohan", "Rosa", "Ruby", "Sakura", "Samuel", "Santiago", "Sara", "Sofia", "Tariq",
    "Theo", "Tomas", "Valentina", "Wei", "Yara", "Yusuf", "Zara", "Zoe",
)

LAST_NAMES: tuple[str, ...] = (
    "Abara", "Adeyemi", "Ahmed", "Ali", "Alvarez", "Anderson", "Bailey", "Baker", "Banerjee", "Bennett",
    "Brown", "Campbell", "Carter", "Castillo", "Chen", "Clarke", "Cohen", "Collins", "Cruz", "Davies",
    "Diaz", "Dubois", "Edwards", "Evans", "Fernandes", "Fischer", "Garcia", "Gomez", "Gonzalez", "Green",
    "Gupta", "Hall", "Hansen", "Harris", "Hernandez", "Hill", "Hughes", "Ibrahim", "Ito", "Jackson",
    "Jensen", "Johnson", "Jones", "Kaur", "Khan", "Kim", "Kowalski", "Kumar", "Lee", "Lewis",
    "Li", "Lopez", "Martin", "Martinez", "Mehta", "Miller", "Moreno", "Morris", "Murphy", "Nakamura",
    "Nguyen", "Novak", "Nowak", "Okafor", "Okonkwo", "Olsen", "Ortiz", "Osei", "Park", "Patel",
    "Perez", "Petrov", "Phillips", "Popescu", "Quinn", "Ramirez", "Reyes", "Richards", "Roberts", "Rodriguez",
    "Rossi", "Russo", "Sanchez", "Santos", "Schmidt", "Shah", "Silva", "Singh", "Smith", "Suzuki",
    "Tanaka", "Taylor", "Thomas", "Thompson", "Torres", "Tran", "Walker", "Wang", "White", "Williams",
    "Wilson", "Wong", "Wright", "Yamamoto", "Yilmaz", "Young", "Zhang",
)

# Guardians are adults: a separate list keeps a parent from sharing a first name
# with half the class.
ADULT_FIRST_NAMES: tuple[str, ...] = (
    "Abimbola", "Andrea", "Angela", "Anthony", "Beatrice", "Carmen", "Catherine", "Christopher", "Claire", "Deborah",
    "Deepak", "Dmitri", "Eduardo", "Elizabeth", "Farah", "Fernando", "Francesca", "Gareth", "Helen", "Hiroshi",
    "Ingrid", "Jennifer", "Joanna", "Jonathan", "Karen", "Kwame", "Linda", "Margaret", "Marisol", "Mark",
    "Michael", "Miriam", "Nasser", "Nicola", "Patricia", "Paul", "Rachel", "Rajesh", "Rebecca", "Richard",
    "Robert", "Samira", "Sandra", "Simon", "Stephen", "Sunita", "Susan", "Teresa", "Thomas", "Victoria",
    "Vikram", "Wendy", "Xiaoming", "Yolanda",
)
# fmt: on
