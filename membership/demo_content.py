"""Demo articles loaded by `flask seed-demo`: original text written for this project."""

SECTIONS: list[tuple[str, str, str]] = [
    ("world", "World", "International news and how global events reach Harborview."),
    (
        "business",
        "Business",
        "The local economy, its employers, the port and the people who work there.",
    ),
    (
        "technology",
        "Technology",
        "Digital services, infrastructure and the tools shaping civic life.",
    ),
    ("science", "Science", "Research from the region's laboratories, field sites and waterways."),
    ("health", "Health", "Public health, access to care and the systems that keep residents well."),
    ("opinion", "Opinion", "Signed columns and commentary from Civic Ledger writers."),
]

ARTICLES: list[dict] = [
    {
        "slug": "harborview-vesterhaven-water-partnership",
        "section": "world",
        "title": "Harborview and Vesterhaven Sign Five-Year Water Technology Partnership",
        "summary": (
            "The agreement with the northern port city pairs engineers from both utilities to "
            "study leak detection and stormwater storage, with the first exchange visits planned "
            "for spring."
        ),
        "author": "Ines Halvorsen",
        "tags": ["water", "infrastructure", "diplomacy"],
        "access": "public",
        "days_ago": 0,
        "body": """Harborview's water utility and its counterpart in Vesterhaven, a port city of
roughly 400,000 people on the northern coast of the Nordmark Federation, signed a five-year
technical partnership on Tuesday. The agreement, announced at a brief ceremony at City Hall,
commits both utilities to share engineering staff, pilot data and maintenance records on a set
of common problems: aging pipes, heavier storms and rising water levels at their outfalls.

Officials stressed that no money changes hands under the deal. Each city covers its own travel and
staff time, and the partnership budget in Harborview is capped at 180,000 dollars a year, drawn
from the utility's existing training fund.

## Why Vesterhaven

The two cities have more in common than their size. Both were built around working harbors, both
lost a large share of their industrial employers in the 1990s, and both sit on low ground that is
increasingly difficult to drain during storm surges. Vesterhaven began installing acoustic leak
sensors across its distribution network nearly a decade ago and now reports losing about 9 percent
of treated water before it reaches customers. Harborview's most recent audit put its own figure at
21 percent.

"We are not looking for a miracle product," said Adaeze Fairbrook, the utility's director of
operations. "We want to see how another city organized the unglamorous work of finding leaks,
fixing them and keeping the records straight, and then decide what fits here."

## What comes next

The first group of six Harborview engineers is scheduled to visit Vesterhaven in April, with a
return delegation expected in the autumn. The utilities plan to publish a joint progress report
after the first year.

Council member Tobias Wren, who chairs the infrastructure committee, said he supported the
agreement but wanted clear measures of success. He has asked the utility to report back on leak
rates and repair times in each of the neighborhoods selected for pilot work, starting with the
Lower Quay and Millbrook districts, where main breaks have been most frequent.
""",
    },
    {
        "slug": "maritime-emissions-talks-end-without-levy",
        "section": "world",
        "title": "Maritime Emissions Talks End Without Agreement on Fuel Levy",
        "summary": (
            "Delegates at the Meridian Maritime Forum agreed on reporting rules for ship "
            "emissions but deferred a decision on a fuel charge until next year, leaving smaller "
            "ports uncertain about future costs."
        ),
        "author": "Rafael Dunmore",
        "tags": ["climate", "shipping"],
        "access": "public",
        "days_ago": 6,
        "body": """Negotiators from more than forty coastal states closed a week of talks at the
Meridian Maritime Forum on Friday without settling the most contested item on their agenda: a
charge on the carbon content of marine fuel. Instead, delegates approved a common standard for
measuring and reporting emissions from large cargo vessels and scheduled a further round of
negotiations for next spring.

The forum, an intergovernmental body created to coordinate port and shipping policy among its
members, operates by consensus. That gives any single delegation the ability to slow a proposal it
considers unfair.

## The dividing lines

The disagreement followed a familiar pattern. A group of island and low-lying states argued for a
levy set high enough to change fuel purchasing decisions within the decade, with revenue directed
toward coastal adaptation. Several large exporting economies said a steep charge would raise the
price of goods shipped over long distances and fall hardest on countries far from their markets. A
third group proposed starting with a modest rate that would rise on a published schedule.

Delegates said the reporting standard adopted on Friday was a necessary first step. Under the new
rules, vessels above a set size will have to record fuel consumption for each voyage and submit
the figures to their flag state every year. The forum will aggregate and publish the results.

## What it means for regional ports

For mid-sized ports such as Harborview, the immediate effect is limited. Port officials have said
they expect to absorb the reporting requirements into existing customs and berth-management
systems. The larger question is whether a future levy would shift traffic toward ports that can
supply alternative fuels.

"Carriers are going to plan around whatever number comes out of these talks," said Nikhil
Aranda-Moss, a freight analyst at Tidewater University who attended the meetings as an observer.
"Ports that wait for certainty before investing may find the decisions have already been made
elsewhere."

The forum's secretariat said draft texts from the week would be circulated to member governments
for comment over the coming months.
""",
    },
    {
        "slug": "calvera-election-observers-report",
        "section": "world",
        "title": "Observers Describe Orderly Vote in Calvera, With Concerns About Media Access",
        "summary": (
            "An international observer mission found that polling in the Republic of Calvera's "
            "parliamentary election was largely well run, but flagged unequal access to state "
            "broadcasting and delays in publishing results."
        ),
        "author": "Hana Lindqvist-Reyes",
        "tags": ["elections", "media"],
        "access": "members",
        "days_ago": 12,
        "body": """The international observer mission to the Republic of Calvera released its
preliminary findings on Monday, describing last week's parliamentary election as peaceful and
technically well administered while raising concerns about the campaign period that preceded
it.

The mission, made up of roughly 200 short-term observers drawn from eighteen countries, visited
more than 1,400 polling stations on election day. In its statement, it said procedures for opening,
voting and counting were followed in the large majority of stations visited, and that polling
staff were generally well trained.

## Campaign conditions

The report was more critical of the weeks before the vote. Observers noted that the governing
coalition received a substantially larger share of airtime on state television and radio than
opposition parties, and that several regional outlets had stopped covering campaign events after
receiving warnings from the national broadcasting regulator.

> "Election day is only one part of an election. Voters also need a fair chance to hear from every
> serious contender before they go to the polls."

That line, from the head of the mission, retired appellate judge Margit Solberg-Ayala, drew
particular attention in the Calveran press. A government spokesperson responded that the regulator
operates independently and that all registered parties had been offered free airtime under the law.

## Results and next steps

The national election commission has published results for most districts, but final figures for
three northern constituencies were delayed by several days while ballots were recounted at the
request of two parties. Observers said the recount appeared orderly but urged the commission to
publish station-level results online so that parties and citizens can check the totals themselves.

The governing coalition is expected to retain its majority with a reduced number of seats. A final
observer report, including detailed recommendations on broadcasting rules and the transmission of
results, is due in about two months.

Calvera's diaspora community in Harborview, estimated at several thousand residents, was able to
vote at a consular polling station downtown for the first time this year. Community organizers said
turnout there exceeded their expectations.
""",
    },
    {
        "slug": "port-authority-terminal-expansion-financing",
        "section": "business",
        "title": "Port Authority Outlines Financing Plan for Container Terminal Expansion",
        "summary": (
            "The Harborview Port Authority wants to fund a 240 million dollar terminal upgrade "
            "through revenue bonds, a state grant and higher berth fees. The board is scheduled "
            "to vote next month."
        ),
        "author": "Priya Castellane",
        "tags": ["port", "infrastructure"],
        "access": "public",
        "days_ago": 3,
        "body": """The Harborview Port Authority on Wednesday released the financing plan for its
long-discussed expansion of the Eastpoint container terminal, a project that would lengthen the
main berth, add two cranes and rebuild the rail connection to the inland freight yard.

The estimated cost is 240 million dollars. Under the plan, the authority would raise most of that
through revenue bonds repaid from terminal income rather than from city taxes. The remainder would
come from a state infrastructure grant that the port has already been awarded and from a phased
increase in berth and handling fees.

## How the money would break down

According to the authority's documents, the plan relies on three sources:

- About 165 million dollars in revenue bonds, issued in two tranches over four years
- A 50 million dollar state grant for the rail connection
- Roughly 25 million dollars from fee increases and existing reserves

The authority's finance director, Lucia Brenneman, told board members that the bond structure was
designed to keep annual debt payments below a third of the terminal's operating income even if
cargo volumes remain flat. She said independent consultants had tested the plan against a scenario
in which volumes fall by 15 percent.

## Questions from tenants and neighbors

Shipping lines that use the terminal have asked for more detail on the fee schedule, and a
coalition of residents from the Eastpoint neighborhood has pressed the authority on truck traffic
and air quality during construction. The authority has committed to a traffic management plan and
says electric yard equipment will be part of the purchase.

Board chair Winston Halloway said the authority would hold two public sessions before the vote.
"This is a long-term commitment, and people should understand exactly what the port is asking
for," he said. Documents for the sessions are posted on the
[authority's project page](https://example.org/harborview-port/eastpoint-expansion).

The board is scheduled to vote at its meeting next month. If the plan is approved, construction
would begin late next year and take about three years to complete.
""",
    },
    {
        "slug": "downtown-storefront-vacancies-ease",
        "section": "business",
        "title": "Downtown Storefront Vacancies Ease, but Small Retailers Report Thin Margins",
        "summary": (
            "The share of empty ground-floor storefronts in downtown Harborview fell for a second "
            "straight year, according to a business district survey. Owners say rent and staffing "
            "costs remain the main pressures."
        ),
        "author": "Malik Ostrander",
        "tags": ["retail", "small business"],
        "access": "paid",
        "days_ago": 9,
        "body": """Downtown Harborview's ground-floor vacancy rate fell to 13 percent this year
from 16 percent last year, according to the annual storefront survey conducted by the Harbor
Street Business Improvement District. It was the second consecutive year of improvement after
the rate peaked above 20 percent.

The survey counts every street-level commercial space in the 42-block district and records whether
it is occupied, available or under renovation. Surveyors walk the district twice, in spring and
autumn, and the published figure is the average of the two counts.

## Who is moving in

Most of the newly filled spaces went to food businesses, personal services such as barbers and
fitness studios, and a small number of medical and dental offices. Traditional retail, meaning
shops that primarily sell goods, accounted for fewer than a quarter of new leases.

"The mix is changing," said Odette Prakash-Molina, the district's executive director. "People come
downtown for experiences and appointments more than for shopping trips. That is not necessarily a
bad thing, but it means the district looks different from how it did twenty years ago."

## Pressure on margins

Occupancy figures do not capture how businesses fare once they open. In interviews, several owners
described revenue that has recovered while costs have grown faster. Commercial rents in the
district have risen by about 8 percent over two years, according to the survey, and owners said
wages for entry-level staff have climbed as well.

Arlo Fenwick, who has run a hardware and home goods store on Cordage Street for eleven years, said
his sales were higher than before the pandemic but his profit was lower. "I am busier and keeping
less of it," he said. "I am not complaining about the customers. It is everything behind the
counter."

The business district is proposing a facade grant program for small businesses and a shared
marketing campaign for the holiday season. Both would need approval from the city's economic
development committee, which is expected to take up the proposals early next year.
""",
    },
    {
        "slug": "council-adopts-automated-decision-tool-rules",
        "section": "technology",
        "title": "City Council Adopts Rules for Buying Automated Decision Tools",
        "summary": (
            "Harborview departments will have to publish an impact assessment and name a "
            "responsible official before buying software that helps make decisions about "
            "residents, under an ordinance passed 7-2."
        ),
        "author": "Theo Brannigan",
        "tags": ["AI", "local government"],
        "access": "public",
        "days_ago": 2,
        "body": """The Harborview City Council voted 7-2 on Monday to adopt an ordinance governing
how city departments buy and use software that makes or supports decisions about residents,
including tools that rank applications, flag records for review or predict demand for services.

The ordinance does not ban any specific technology. Instead, it sets out steps that departments
must complete before signing a contract and obligations that continue for as long as a system is
in use.

## What the ordinance requires

Before a purchase, a department must publish a short impact assessment describing what the tool
will do, what data it will use, who could be affected and how residents can challenge a decision.
Each system must also have a named official who is responsible for its operation and who reports
annually to the council's technology committee.

The city will keep a public register of covered systems. The full text of the ordinance and a
template for the assessments are available on
[the city clerk's site](https://example.org/harborview/ordinances/automated-decision-tools).

Systems already in use have eighteen months to comply. City staff estimate that between ten and
fifteen existing tools, mostly in permitting, benefits administration and building inspections,
fall within the ordinance's scope.

## Debate on the council

Supporters said the rules give residents a way to understand decisions that increasingly pass
through software. "If a program influences whether your permit gets flagged or your benefits get
delayed, you should be able to find out that it exists and who answers for it," said council
member Renata Osgood, the ordinance's lead sponsor.

The two members who voted against it said they agreed with its goals but worried about the
workload for smaller departments. Council member Piers Langford said the assessment process could
delay routine software upgrades and asked staff to return with an estimate of the administrative
cost.

The city's chief information officer said her office would offer training to department staff and
would review the first round of assessments to see where the requirements could be simplified
without being weakened.
""",
    },
    {
        "slug": "library-expands-hotspot-lending",
        "section": "technology",
        "title": "Library Expands Hotspot Lending as Home Internet Gaps Persist",
        "summary": (
            "The Harborview Public Library will add 300 mobile internet hotspots to its lending "
            "collection after a pilot found waiting lists of more than a month at its busiest "
            "branches."
        ),
        "author": "Corinne Abelard",
        "tags": ["broadband", "libraries", "digital equity"],
        "access": "public",
        "days_ago": 14,
        "body": """The Harborview Public Library will add 300 mobile internet hotspots to its
lending collection next month, roughly doubling the number available to cardholders, after a
two-year pilot produced waiting lists at every branch.

Patrons can borrow a hotspot for three weeks at a time, the same period as a book. The devices
connect to a cellular network and let several laptops or tablets share an internet connection at
home.

## What the pilot showed

Library staff tracked demand throughout the pilot. At the Millbrook and Lower Quay branches, the
average wait for a device reached five to six weeks during the school year. Surveys of borrowers
found that most used the hotspots for schoolwork, job applications and medical appointments held
by video.

"We knew there was demand, but the waiting lists told us how much," said Delphine Varga, the
library's head of digital services. "For a lot of households, a hotspot is the difference between
doing homework at the kitchen table and doing it in a parking lot."

A city survey conducted last year estimated that about one in eight Harborview households has no
home broadband subscription. The share is higher among older residents and in neighborhoods with
lower median incomes. Cost was the most common reason given, followed by a lack of confidence in
using the technology.

## Funding and limits

The expansion is paid for by a combination of library operating funds and a donation from a local
community foundation. The cellular service contract costs about 14 dollars per device per month.

Library officials acknowledge that lending devices is not a long-term substitute for affordable
home broadband. The city's digital equity task force is studying options including subsidized
service plans and public wireless networks in parks and community centers, and is expected to
report its recommendations in the spring.

In the meantime, the library is also expanding its drop-in technology help sessions, which now run
at four branches on weekday evenings and are staffed by librarians and trained volunteers.
""",
    },
    {
        "slug": "payment-portal-breach-review",
        "section": "technology",
        "title": "Review of City Payment Portal Breach Points to Unpatched Vendor Software",
        "summary": (
            "An independent review of last spring's breach of Harborview's online payment portal "
            "found that a known software flaw went unpatched for months. The report makes eleven "
            "recommendations, most of which the city has accepted."
        ),
        "author": "Theo Brannigan",
        "tags": ["cybersecurity", "local government"],
        "access": "members",
        "days_ago": 23,
        "body": """An independent review commissioned by the City of Harborview has concluded that
last spring's breach of its online payment portal was made possible by a known flaw in vendor
software that had gone unpatched for nearly five months.

The breach exposed names, mailing addresses and partial payment card details for about 38,000
residents who had used the portal to pay parking fines and utility bills. The city notified
affected residents in May and offered free credit monitoring for two years. The review found no
evidence that full card numbers were taken.

## How it happened

According to the report, the vendor that operates the portal released a security update the
previous winter. Installing it required the city to schedule downtime, and the work was postponed
twice because of staffing shortages in the information technology department and concern about
disrupting bill payments near a due date. Attackers exploited the flaw several weeks before the
update was finally applied.

The reviewers also found that alerts generated by the city's monitoring system during the
intrusion were logged but not escalated, because the responsible staff position had been vacant
since the previous autumn.

## Recommendations

The report makes eleven recommendations. Among the most significant:

- Set a maximum time for applying critical security updates, with exceptions approved in writing
  by the chief information officer
- Require vendors to report the patch status of hosted systems every month
- Fund and fill the vacant security monitoring positions
- Run an annual exercise simulating a breach of a resident-facing system

The city has accepted nine recommendations in full and two in part. It said budget constraints
would limit how quickly it can hire additional security staff.

"The failures here were ordinary ones," said Harriet Quennell, the consultant who led the review.
"That is the uncomfortable lesson. Most breaches do not require extraordinary attackers, only an
opening that stays open too long."

The council's audit committee is scheduled to discuss the report at its next meeting.
""",
    },
    {
        "slug": "seagrass-returns-to-harborview-bay",
        "section": "science",
        "title": "Seagrass Returns to Parts of Harborview Bay, Survey Finds",
        "summary": (
            "A Tidewater University survey mapped about 38 hectares of seagrass in the bay, up "
            "from 12 hectares a decade ago. Researchers credit cleaner runoff and volunteer "
            "replanting but caution that the gains remain fragile."
        ),
        "author": "Amara Voss",
        "tags": ["oceans", "climate", "environment"],
        "access": "public",
        "days_ago": 5,
        "body": """Underwater meadows of seagrass have expanded significantly in the northern
reaches of Harborview Bay over the past decade, according to a survey published this month by
marine ecologists at Tidewater University.

The team mapped about 38 hectares of seagrass last summer, compared with roughly 12 hectares in a
comparable survey ten years earlier. Most of the growth was concentrated in shallow, sheltered
water near the mouth of the Millbrook River, where water clarity has improved.

## Why it matters

Seagrass provides nursery habitat for young fish and shellfish, stabilizes sediment on the sea
floor and stores carbon in the sediment beneath it. Because it needs light to grow, its extent is
often treated as a broad indicator of water quality.

The researchers attribute the recovery mainly to reduced nutrient runoff. Over the past fifteen
years, the region upgraded two wastewater treatment plants and introduced limits on fertilizer use
near waterways. A volunteer replanting program, run by a local conservation group, also seeded
several plots that have since spread.

> "We are seeing what happens when the water gets clear enough for long enough. The plants do most
> of the work themselves if conditions allow it."

That assessment came from Ilse Marrow, the study's lead author, who has surveyed the bay since she
was a graduate student.

## Cautions

The researchers noted that the southern part of the bay, near the industrial waterfront, showed no
meaningful recovery. Marine heat waves are another concern. A prolonged spell of warm water two
summers ago caused visible die-off in some beds, which recovered only partly the following year.

The team plans to repeat the survey every two years and is working with the port authority to
understand how dredging for the planned terminal expansion could affect nearby beds. The port has
said it will adjust the timing of dredging to avoid the main growing season.
""",
    },
    {
        "slug": "observatory-glass-plate-archive-online",
        "section": "science",
        "title": "Century of Glass Plates From Tidewater Observatory Goes Online",
        "summary": (
            "Volunteers and staff have finished scanning 61,000 photographic plates recorded at "
            "the university observatory between 1902 and 1989, opening the archive to researchers "
            "who study how stars change over decades."
        ),
        "author": "Lena Marchetti-Osei",
        "tags": ["astronomy", "archives"],
        "access": "paid",
        "days_ago": 17,
        "body": """For most of the twentieth century, astronomers at Tidewater University's hilltop
observatory recorded the night sky on glass plates coated with photographic emulsion. This
month, after six years of work, the university finished scanning all 61,000 surviving plates
and published the images in an online archive.

The collection spans 1902 to 1989, when the observatory switched to electronic detectors. The
plates had been stored in wooden cabinets in a basement room that flooded twice, and a handful were
damaged beyond use.

## Why old images are useful

Astronomers increasingly study how objects in the sky change over time. Many stars brighten and
fade on cycles lasting years or decades, and some events, such as stellar outbursts, are rare
enough that any historical record is valuable. Modern sky surveys are far more sensitive, but they
cover only the last few decades.

"A plate from 1931 is a measurement nobody can repeat," said Anselm Okoro-Day, the astronomer who
directed the project. "If a star was brighter or fainter then, this is one of the few places that
fact was written down."

## How the work was done

The scanning used a modified high-resolution scanner built for the project. Each plate was
cleaned, photographed and scanned at a resolution fine enough to separate individual star images.
The original paper logbooks, which record the date, exposure time and target of each plate, were
transcribed by more than 400 volunteers through an online platform.

Matching each scan to its logbook entry was the slowest step. Handwriting varied across eight
decades of observers, and some entries used abbreviations that had to be reconstructed from
context.

## What comes next

The team is now calibrating the brightness measurements so that they can be compared directly with
modern data. Early analyses have already identified several dozen stars whose brightness appears to
have changed significantly over the century, which the researchers plan to follow up with new
observations.

The physical plates will remain at the university in a new climate-controlled storage room.
""",
    },
    {
        "slug": "primary-care-waits-lengthen",
        "section": "health",
        "title": "Primary Care Waits Lengthen Across Harborview, County Report Shows",
        "summary": (
            "New patients in Harborview now wait an average of 34 days for a first primary care "
            "appointment, up from 22 days three years ago, according to the county health "
            "department's annual access report."
        ),
        "author": "Samira Whitlock",
        "tags": ["public health", "health care"],
        "access": "public",
        "days_ago": 4,
        "body": """Residents looking for a new primary care doctor in Harborview now wait an
average of 34 days for a first appointment, according to the annual access report published
this week by the Harbor County Health Department. Three years ago, the average was 22 days.

The department measured waits by calling clinics across the county as simulated new patients with
routine, non-urgent needs, a method commonly used in health services research. Existing patients
generally reported shorter waits for follow-up visits.

## What the report found

Among the main findings:

- Waits were longest in the Eastpoint and Lower Quay neighborhoods, where the average exceeded 45
  days
- About a fifth of the clinics contacted were not accepting new patients at all
- Clinics that employ nurse practitioners alongside physicians offered appointments about ten days
  sooner on average
- Visits to the emergency department at Harborview General Hospital for non-urgent conditions rose
  by 9 percent over the same period

The full report, including clinic-level data, is published on the
[health department's website](https://example.org/harbor-county/health/access-report).

## Behind the numbers

The report links the longer waits mainly to workforce changes. The county lost a net 14 primary
care physicians over three years, largely through retirements, while the population grew modestly.
Recruiting has been difficult, clinic administrators said, because new graduates often prefer
larger cities or specialized practice.

"We have the exam rooms. What we do not have is enough clinicians to fill the schedule," said Maren
Tolliver, medical director of the Eastside Community Health Center, which has been recruiting for
two physician positions for more than a year.

The health department recommends expanding a loan repayment program for clinicians who commit to
working in underserved neighborhoods and supporting team-based models that let nurses and
pharmacists handle more routine care. The county board of supervisors is expected to discuss the
recommendations during budget hearings next month.
""",
    },
    {
        "slug": "county-revises-heat-emergency-plan",
        "section": "health",
        "title": "County Revises Heat Emergency Plan After Record Summer",
        "summary": (
            "Harbor County will open cooling centers at a lower temperature threshold and add "
            "evening hours next summer, after a review found that older residents living alone "
            "were the hardest to reach during last year's heat waves."
        ),
        "author": "Samira Whitlock",
        "tags": ["public health", "climate"],
        "access": "members",
        "days_ago": 11,
        "body": """Harbor County officials have revised the region's heat emergency plan following
a summer in which Harborview recorded eleven days above 35 degrees Celsius, the most since
local record-keeping began. The changes, approved by the county's emergency management council
last week, take effect next season.

Under the revised plan, the county will declare a heat emergency and open cooling centers when the
forecast heat index reaches 32 degrees for two consecutive days, rather than waiting for the higher
threshold used previously. Cooling centers in libraries and community centers will also stay open
until 10 p.m. during declared emergencies, since indoor temperatures in older apartment buildings
often peak after sunset.

## Lessons from last summer

An internal review, released alongside the plan, found that the county's outreach worked
reasonably well for people already connected to social services but struggled to reach older
adults living alone. Emergency medical calls related to heat illness were concentrated among
residents over 70, many of whom lived in upper-floor units without air conditioning.

The review also found that cooling centers were underused in some neighborhoods because residents
did not know they existed or could not get to them. Ridership on a free shuttle service was low,
in part because it was announced late.

## New measures

The revised plan adds several measures aimed at those gaps. The county will build a voluntary
registry that lets residents, or family members on their behalf, sign up for check-in phone calls
during heat emergencies. It will also work with building managers and tenant associations to
identify residents who may need a visit in person.

"The people at greatest risk are often the least visible," said Beatrix Calloway-Nunez, the
county's public health emergency coordinator. "A cooling center does no good if nobody knows to go
there or can get there."

The county will also distribute several hundred portable air conditioning units to eligible
low-income households before next summer, funded by a state energy assistance grant. Applications
open in the spring.
""",
    },
    {
        "slug": "column-public-meetings-should-be-easier-to-follow",
        "section": "opinion",
        "title": "Column: Harborview's Public Meetings Should Be Easier to Follow",
        "summary": (
            "Council and board meetings are open to everyone on paper, but late agendas, "
            "unsearchable records and midday schedules keep most residents away. A few modest "
            "changes would help."
        ),
        "author": "Gideon Marsh",
        "tags": ["local government", "transparency"],
        "access": "public",
        "days_ago": 8,
        "body": """Every week, somewhere in Harborview, a public body makes a decision that will
affect how residents live: a zoning variance, a contract for road repairs, a change to bus
routes. Almost all of these meetings are open to the public, as state law requires. Very few
members of the public attend them.

It is tempting to read that as indifference. After several years of covering these meetings for
this newsroom, I have come to a different conclusion. Most residents do not stay away because they
do not care. They stay away because the city has made it surprisingly hard to follow along.

## Open is not the same as accessible

Consider the basics. Agendas for many boards are posted only 72 hours before a meeting, the legal
minimum, often as scanned documents that cannot be searched. Supporting materials, the reports that
explain what is actually being decided, are sometimes posted after the meeting has ended. Several
commissions still meet at two in the afternoon on weekdays, when most working residents cannot
attend.

Recordings exist for council meetings but not for many of the smaller boards, where a surprising
amount of consequential work happens. Minutes can lag by months.

None of this is the result of bad intentions. It is the result of old habits, thin staffing and
rules written for a time when a printed notice on a bulletin board was considered adequate.

## Modest fixes

The remedies are not expensive. The city could post agendas and supporting documents at least a
week ahead, in searchable form. It could record and archive every board meeting, not only the
council's. It could move at least some meetings to evenings and accept public comment by video.
And it could publish a single calendar listing every public meeting in one place.

These changes would not turn every resident into a regular at City Hall. They would make it easier
for people who want to pay attention to do so, and they would make the work of reporters,
including ours, more accurate.

Open government is a promise. Keeping it requires more than unlocking the door.

*Gideon Marsh is the civic affairs columnist for The Civic Ledger.*
""",
    },
    {
        "slug": "column-frequent-buses-before-free-buses",
        "section": "opinion",
        "title": "Column: Before Harborview Makes Buses Free, It Should Make Them Frequent",
        "summary": (
            "A proposal to eliminate bus fares has wide appeal, but the transit authority's own "
            "rider surveys suggest that people care more about how often buses come. The city "
            "should fund service first."
        ),
        "author": "Ruth Amberley",
        "tags": ["transit", "local government"],
        "access": "paid",
        "days_ago": 15,
        "body": """The proposal to make Harborview's buses free has a great deal going for it. It
is simple to explain, it would help households for whom every fare adds up, and it would speed
up boarding at busy stops. Several council members have endorsed it, and a petition in support
has gathered thousands of signatures.

I understand the appeal. I still think it is the wrong first step.

## What riders say they want

The Harborview Transit Authority surveys its riders every two years. In the most recent survey,
respondents were asked to rank possible improvements. Lower fares came fourth. The top three were
more frequent service, more reliable arrival times and longer evening and weekend hours.

That ranking matches what I hear at bus stops. A rider who waits forty minutes for a bus that runs
once an hour is not mainly troubled by the fare. She is troubled by the forty minutes, and by the
knowledge that missing one bus can mean missing a shift.

## The arithmetic

Fares currently bring in about 11 million dollars a year, roughly a fifth of the authority's
operating budget. Replacing that revenue would require a new and permanent source of funding. If
the city can find that money, the real question is how to spend it.

By the authority's own estimates, a similar sum would allow it to run buses every fifteen minutes
on its six busiest routes, which together carry more than half of all riders, and to extend
service past midnight on weekends.

> A free bus that does not come is not much of a benefit. A frequent bus with a modest fare
> changes what people can plan their lives around.

## A better sequence

None of this means fares should stay as they are. The authority already offers reduced fares for
students, seniors and low-income riders, and the enrollment process for the low-income program
could be simplified considerably. Daily and weekly fare caps would also help frequent riders
without giving up the revenue entirely.

My suggestion is a sequence rather than a rejection: fund frequency first, simplify discounts now,
and revisit free fares once the service is good enough that more people want to use it.

*Ruth Amberley writes about transportation and urban policy for The Civic Ledger.*
""",
    },
]
