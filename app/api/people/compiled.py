"""How people's plain fields read off their tables, for compiled queries (app/api/compiled.py).

Only fields whose value is the column as stored, shown to whoever reaches the object:
`Professional.licenseNumber` and `User.invitationPending` have a rule of their own and
stay with the general road.
"""

from app.api.compiled import Shape, shape
from app.people.models import Professional, Student, User

shape("User", Shape(
    table=User.__table__, global_id="User",
    columns={"email": "email", "firstName": "first_name", "lastName": "last_name",
             "phone": "phone", "role": "role", "active": "active", "locale": "locale"},
))
shape("Student", Shape(
    table=Student.__table__, global_id="Student",
    columns={"firstName": "first_name", "lastName": "last_name",
             "dateOfBirth": "date_of_birth", "active": "active"},
    relations={"guardian": ("guardian_id", "User")},
))
shape("Professional", Shape(
    table=Professional.__table__, global_id="Professional",
    columns={"title": "title", "specialization": "specialization", "bio": "bio",
             "timeZone": "time_zone", "sessionMinutes": "session_minutes",
             "bufferMinutes": "buffer_minutes", "creditCost": "credit_cost",
             "active": "active"},
    relations={"user": ("user_id", "User")},
))
