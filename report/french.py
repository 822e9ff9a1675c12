"""The report's sentences in French, next to their English (language.py looks them up by it)."""

from __future__ import annotations

MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre",
          "décembre")
MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.")
WEEKDAYS = ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim.")

SENTENCES: dict[str, str] = {}
SENTENCES.update({
    # language.py: periods and scopes
    "%(first)s to %(last)s": "du %(first)s au %(last)s",
    "whole fleet": "tout le parc",
    "service %(name)s": "service %(name)s",
    "site %(name)s": "site %(name)s",
    "department %(name)s": "direction %(name)s",
    # the first page
    "IT footprint report": "Empreinte du numérique",
    "scope: %(scope)s": "périmètre : %(scope)s",
    "generated %(when)s": "produit le %(when)s",
    "In short": "L'essentiel",
    "In %(period)s": "En %(period)s",
    "From %(period)s": "Du %(period)s",
    "the whole IT fleet": "l'ensemble du parc informatique",
    "the %(scope)s": "le périmètre %(scope)s",
    "%(count)s kg of CO2 equivalent": "%(count)s kg d'équivalent CO2",
    "%(count)s tonnes of CO2 equivalent": "%(count)s tonnes d'équivalent CO2",
    "%(when)s, %(scope)s emitted %(amount)s: %(use)s %% from the electricity the machines used (%(kwh)s kWh) and "
    "%(made)s %% from their manufacture, spread over their lifetime.":
        "%(when)s, %(scope)s a émis %(amount)s : %(use)s %% dus à l'électricité consommée par les machines "
        "(%(kwh)s kWh) et %(made)s %% à leur fabrication, répartie sur leur durée de vie.",
    "That is %(change)s %% more than in %(previous)s (%(amount)s).":
        "C'est %(change)s %% de plus qu'en %(previous)s (%(amount)s).",
    "That is %(change)s %% less than in %(previous)s (%(amount)s).":
        "C'est %(change)s %% de moins qu'en %(previous)s (%(amount)s).",
    "No comparison with %(previous)s: it does not have data on most of its days.":
        "Pas de comparaison avec %(previous)s : la plupart de ses jours n'ont pas de données.",
    "That is about as much as:": "C'est à peu près autant que :",
    "%(count)s km driven alone in a petrol or diesel car":
        "%(count)s km parcourus seul dans une voiture essence ou diesel",
    "the whole carbon footprint of a person living in France for %(count)s days":
        "l'empreinte carbone totale d'une personne vivant en France pendant %(count)s jours",
    "ADEME, Impact CO2: car with a combustion engine, 218 gCO2e per km and passenger, manufacture included":
        "ADEME, Impact CO2 : voiture thermique, 218 gCO2e par km et par passager, fabrication comprise",
    "SDES (French Ministry for the Ecological Transition), the carbon footprint of France 1995-2022: "
    "9.2 tCO2e per person in 2022":
        "SDES (ministère de la Transition écologique), L'empreinte carbone de la France de 1995 à 2022 : "
        "9,2 tCO2e par personne en 2022",
    "The three largest services:": "Les trois services les plus émetteurs :",
    "The three largest machines:": "Les trois machines les plus émettrices :",
    "Budgets:": "Budgets :",
    "exceeded": "dépassé",
    "kept": "respecté",
    "so far kept (its period is not over)": "respecté jusqu'ici (sa période n'est pas finie)",
    "judged on this period against its limit pro rata": "jugé sur cette période au prorata de sa limite",
    "%(count)s day(s) judged, %(over)s over the limit": "%(count)s jour(s) jugé(s), %(over)s au-delà de la limite",
    "%(count)s week(s) judged, %(over)s over the limit":
        "%(count)s semaine(s) jugée(s), %(over)s au-delà de la limite",
    "%(count)s month(s) judged, %(over)s over the limit": "%(count)s mois jugé(s), %(over)s au-delà de la limite",
    "%(count)s year(s) judged, %(over)s over the limit": "%(count)s année(s) jugée(s), %(over)s au-delà de la limite",
    "%(share)s %% of its limit of %(limit)s %(unit)s spent":
        "%(share)s %% de sa limite de %(limit)s %(unit)s consommés",
    # notes on the data
    "The period is not over: figures run to %(when)s.":
        "La période n'est pas finie : les chiffres vont jusqu'au %(when)s.",
    "The %(blank)s still to come are left blank, not counted as zero.":
        "Les %(blank)s à venir sont laissés en blanc, pas comptés comme zéro.",
    "No data before %(day)s (the first samples of this scope in the period): the first %(blank)s are left blank, "
    "not counted as zero.":
        "Pas de données avant le %(day)s (les premières mesures de ce périmètre dans la période) : les %(blank)s "
        "d'avant sont laissés en blanc, pas comptés comme zéro.",
    "%(blank)s without any data are left blank, not counted as zero.":
        "%(blank)s sans aucune donnée sont laissés en blanc, pas comptés comme zéro.",
    "%(count)s days": "%(count)s jours",
    "%(count)s months": "%(count)s mois",
    "A day whose data starts or stops within it is drawn lighter and never named the lowest.":
        "Un jour dont les données commencent ou s'arrêtent en cours de journée est dessiné plus clair et n'est "
        "jamais désigné comme le plus bas.",
    "A month whose data starts or stops within it is drawn lighter and never named the lowest.":
        "Un mois dont les données commencent ou s'arrêtent en cours de mois est dessiné plus clair et n'est jamais "
        "désigné comme le plus bas.",
    "The previous period (%(previous)s) has data on %(days)s of its %(all)s days: no change against it is shown.":
        "La période précédente (%(previous)s) a des données sur %(days)s de ses %(all)s jours : aucune évolution "
        "n'est affichée.",
    # key figures
    "Key figures": "Chiffres clés",
    "Carbon footprint (kgCO2e, use + manufacture)": "Empreinte carbone (kgCO2e, usage + fabrication)",
    "Energy (kWh)": "Énergie (kWh)",
    "Abiotic depletion (kgSbeq)": "Épuisement des ressources abiotiques (kgSbeq)",
    "Primary energy (MJ)": "Énergie primaire (MJ)",
    "%(change)s %% vs previous period": "%(change)s %% par rapport à la période précédente",
    "Manufacture accounts for %(made)s %% of the carbon footprint, use for %(use)s %%.":
        "La fabrication représente %(made)s %% de l'empreinte carbone, l'usage %(use)s %%.",
    "The largest service is %(name)s: %(kg)s kgCO2e (%(share)s %%).":
        "Le service le plus émetteur est %(name)s : %(kg)s kgCO2e (%(share)s %%).",
    "%(exceeded)s of %(budgets)s budgets exceeded": "%(exceeded)s budget(s) dépassé(s) sur %(budgets)s",
    "Keeping hardware %(years)s longer would save %(kg)s kgCO2e a year of manufacture impacts.":
        "Garder le matériel %(years)s de plus éviterait %(kg)s kgCO2e par an d'impacts de fabrication.",
    "%(share)s %% of the energy is measured, the rest modelled.":
        "%(share)s %% de l'énergie est mesurée, le reste modélisé.",
    "%(share)s %% of the manufacture GWP is its makers' declared figure, the rest modelled.":
        "%(share)s %% du PRG de fabrication est le chiffre déclaré par les fabricants, le reste est modélisé.",
    "%(count)s year": "%(count)s an",
    "%(count)s years": "%(count)s ans",
    # impacts per criterion
    "Impacts per criterion": "Impacts par critère",
    "criterion": "critère",
    "unit": "unité",
    "use": "usage",
    "manufacture": "fabrication",
    "total": "total",
    "manufacture share (%%)": "part de la fabrication (%%)",
    "Climate change (GWP)": "Changement climatique (GWP)",
    "Abiotic resource depletion (ADPe)": "Épuisement des ressources abiotiques (ADPe)",
    "Primary energy (PE)": "Énergie primaire (PE)",
    "Energy (at the machines)": "Énergie (aux machines)",
    "Use: the machines' electricity × the site's PUE × the electricity factors of their zone. Manufacture: each "
    "machine's embodied impacts spread evenly over its lifetime.":
        "Usage : l'électricité des machines × le PUE du site × les facteurs d'émission de l'électricité de leur "
        "zone. Fabrication : les impacts de fabrication de chaque machine répartis également sur sa durée de vie.",
    # breakdowns
    "Per service": "Par service",
    "Per site": "Par site",
    "Per department": "Par direction",
    "service": "service",
    "site": "site",
    "department": "direction",
    "(no department)": "(sans direction)",
    "(no service)": "(sans service)",
    "energy (kWh)": "énergie (kWh)",
    "use (kgCO2e)": "usage (kgCO2e)",
    "manufacture (kgCO2e)": "fabrication (kgCO2e)",
    "total (kgCO2e)": "total (kgCO2e)",
    "share (%%)": "part (%%)",
    # trend
    "Trend over the period": "Évolution sur la période",
    "Per day (UTC)": "Par jour (UTC)",
    "Per month (UTC)": "Par mois (UTC)",
    "no data": "pas de données",
    "partial day": "jour partiel",
    "partial month": "mois partiel",
    "Highest whole day: %(high)s, %(high_kg)s kgCO2e; lowest: %(low)s, %(low_kg)s kgCO2e.":
        "Jour complet le plus haut : %(high)s, %(high_kg)s kgCO2e ; le plus bas : %(low)s, %(low_kg)s kgCO2e.",
    "Highest whole month: %(high)s, %(high_kg)s kgCO2e; lowest: %(low)s, %(low_kg)s kgCO2e.":
        "Mois complet le plus haut : %(high)s, %(high_kg)s kgCO2e ; le plus bas : %(low)s, %(low_kg)s kgCO2e.",
    # budgets
    "Trajectory and budgets": "Trajectoire et budgets",
    "Budgets": "Budgets",
    "budget": "budget",
    "trajectory": "trajectoire",
    "periods judged": "périodes jugées",
    "limit": "limite",
    "spent": "consommé",
    "spent (%% of limit)": "consommé (%% de la limite)",
    "outcome": "résultat",
    "pro rata": "prorata",
    "within": "respecté",
    "in progress": "en cours",
    "some periods exceeded": "des périodes dépassées",
    "spent, %% of the limit over the period": "consommé, %% de la limite sur la période",
    "limit on the path (%(unit)s/year)": "limite sur la trajectoire (%(unit)s/an)",
    "spent (%(unit)s)": "consommé (%(unit)s)",
    "Trajectory of %(budget)s": "Trajectoire de %(budget)s",
    "−%(pct)s %%/year from %(year)s: ×%(factor)s": "−%(pct)s %%/an depuis %(year)s : ×%(factor)s",
    "Recomputed from the stored data. A budget whose period fits in the report's is judged on each of its periods "
    "that starts in it, in full; a longer one (a yearly budget in a monthly report) on the report's period against "
    "its limit pro rata. With a trajectory, each year's limit is the baseline's × (1 − reduction)<sup>years since "
    "the baseline</sup>.":
        "Recalculé à partir des données stockées. Un budget dont la période tient dans celle du rapport est jugé sur "
        "chacune de ses périodes qui y commencent, en entier ; un budget plus long (un budget annuel dans un rapport "
        "mensuel) sur la période du rapport, au prorata de sa limite. Avec une trajectoire, la limite de chaque "
        "année est celle de l'année de référence × (1 − réduction)<sup>années depuis la référence</sup>.",
    "No budget applies to this scope.": "Aucun budget ne s'applique à ce périmètre.",
    "No budget applies to this scope (no budget file configured).":
        "Aucun budget ne s'applique à ce périmètre (pas de fichier de budgets configuré).",
    # hosts
    "Top %(count)s hosts by carbon footprint": "Les %(count)s machines à la plus forte empreinte carbone",
    "host": "machine",
    "kind": "type",
    "hosts": "machines",
    "Hardware past its lifetime": "Matériel au-delà de sa durée de vie",
    "<strong>%(past)s</strong> of %(hosts)s reporting hosts (%(share)s %%) ran past their planned lifetime in the "
    "period, for <strong>%(energy)s %%</strong> of the energy. Their manufacture impacts are fully amortised: they "
    "add no embodied impacts any more, only use-phase ones.":
        "<strong>%(past)s</strong> des %(hosts)s machines qui ont remonté des mesures (%(share)s %%) ont fonctionné "
        "au-delà de leur durée de vie prévue, pour <strong>%(energy)s %%</strong> de l'énergie. Leurs impacts de "
        "fabrication sont entièrement amortis : elles n'ajoutent plus que des impacts d'usage.",
    # what-if
    "What if hardware were kept %(years)s longer?": "Et si le matériel était gardé %(years)s de plus ?",
    "Keeping the %(hosts)s machines still within their lifetime %(years)s longer, instead of replacing them at the "
    "end of it, spreads their manufacture impacts over more years: <strong>%(saving)s kgCO2e a year</strong> less "
    "(%(share)s %% of their embodied footprint), %(period)s kgCO2e over this period.":
        "Garder les %(hosts)s machines encore dans leur durée de vie %(years)s de plus, au lieu de les remplacer à "
        "son terme, répartit leurs impacts de fabrication sur plus d'années : <strong>%(saving)s kgCO2e par "
        "an</strong> de moins (%(share)s %% de leur empreinte de fabrication), %(period)s kgCO2e sur cette période.",
    "The %(past)s machines already past their lifetime show the other side: replacing them now would add %(kg)s "
    "kgCO2e of manufacture a year.":
        "Les %(past)s machines déjà au-delà de leur durée de vie montrent l'autre versant : les remplacer maintenant "
        "ajouterait %(kg)s kgCO2e de fabrication par an.",
    "mean lifetime (years)": "durée de vie moyenne (ans)",
    "manufacture now (kgCO2e/year)": "fabrication aujourd'hui (kgCO2e/an)",
    "kept %(years)s longer (kgCO2e/year)": "gardées %(years)s de plus (kgCO2e/an)",
    "saving (kgCO2e/year)": "gain (kgCO2e/an)",
    "in this period (kgCO2e)": "sur la période (kgCO2e)",
    "saving in this period (kgCO2e)": "gain sur la période (kgCO2e)",
    "all": "toutes",
    "Assumptions: manufacture impacts (Boavizta) spread linearly over the lifetime L in the inventory; kept N more "
    "years, a machine's yearly share becomes total ÷ (L + N), a period's × L ÷ (L + N); a replacement starts a new "
    "machine's amortisation at today's rate. Use-phase energy is taken as unchanged (a newer machine may draw less; "
    "not modelled), as are repairs and the end-of-life treatment. In a service's report, a machine's manufacture "
    "impacts are the service's share of them.":
        "Hypothèses : les impacts de fabrication (Boavizta) sont répartis linéairement sur la durée de vie L de "
        "l'inventaire ; gardée N ans de plus, la part annuelle d'une machine devient total ÷ (L + N), celle d'une "
        "période × L ÷ (L + N) ; un remplacement démarre l'amortissement d'une machine neuve au rythme actuel. "
        "L'énergie d'usage est supposée inchangée (une machine plus récente peut consommer moins ; non modélisé), "
        "de même que les réparations et la fin de vie. Dans le rapport d'un service, les impacts de fabrication "
        "d'une machine sont la part de ce service.",
    # data quality
    "Data quality": "Qualité des données",
    "Energy by power source": "Énergie par source de puissance",
    "%% of the energy": "%% de l'énergie",
    "<strong>%(share)s %%</strong> of the energy comes from measured power (wall meters, batteries, CPU and memory "
    "counters, or a model calibrated on a wall meter); the rest is modelled from the hardware and its load.":
        "<strong>%(share)s %%</strong> de l'énergie vient de puissances mesurées (compteurs à la prise, batteries, "
        "compteurs du processeur et de la mémoire, ou modèle calibré sur un compteur) ; le reste est modélisé à "
        "partir du matériel et de sa charge.",
    "%(reporting)s of %(expected)s expected hosts reported; their samples cover %(coverage)s %% of their expected "
    "time.":
        "%(reporting)s des %(expected)s machines attendues ont remonté des mesures ; elles couvrent %(coverage)s %% "
        "de leur temps attendu.",
    "%(count)s host(s) sent nothing in the period": "%(count)s machine(s) n'ont rien envoyé sur la période",
    "and %(count)s more": "et %(count)s autres",
    "%(count)s host(s) have gaps (samples cover under %(pct)s %% of their time)":
        "%(count)s machine(s) ont des trous (mesures couvrant moins de %(pct)s %% de leur temps)",
    "%(count)s sample(s) were dropped by agents whose queue was full.":
        "%(count)s mesure(s) ont été abandonnées par des agents dont la file était pleine.",
    "power source": "source de puissance",
    "<strong>Modelled energy by power model</strong> (docs/power-model.md): <code>specpower_published</code> rests "
    "on published SPECpower measurements of servers with the same CPU and socket count, <code>specpower_fit</code> "
    "on the model fitted on them; %(share)s %% of the servers' SPECpower-modelled energy comes from published "
    "measurements.":
        "<strong>Énergie modélisée par modèle de puissance</strong> (docs/power-model.md) : "
        "<code>specpower_published</code> repose sur des mesures SPECpower publiées de serveurs au même processeur "
        "et au même nombre de sockets, <code>specpower_fit</code> sur le modèle ajusté sur elles ; %(share)s %% de "
        "l'énergie des serveurs modélisée par SPECpower vient de mesures publiées.",
    "power model": "modèle de puissance",
    "modelled energy (kWh)": "énergie modélisée (kWh)",
    "share of modelled (%%)": "part du modélisé (%%)",
    # sources and methods
    "Sources and methods": "Sources et méthodes",
    "Energy is measured by the fleetprint agent on each machine where a meter exists (in order of preference: wall "
    "power from the BMC, RAPL and battery counters with a modelled rest), else modelled from the machine's "
    "inventory and its load. Manufacture impacts and electricity factors follow the <a "
    "href=\"https://doc.api.boavizta.org/\">Boavizta methodology</a> (boaviztapi %(version)s, <a "
    "href=\"https://github.com/Boavizta/boaviztapi\">source</a>); see also fleetprint's docs/impact-model.md and "
    "docs/report.md. Services receive their machines' impacts in proportion to their CPU time (docs/services.md). "
    "GWP: global warming potential (kgCO2e); ADPe: abiotic resource depletion, elements (kgSbeq); PE: primary "
    "energy (MJ).":
        "L'énergie est mesurée par l'agent fleetprint sur chaque machine qui a un compteur (par ordre de "
        "préférence : puissance à la prise lue par le BMC, compteurs RAPL et de batterie avec un reste modélisé), "
        "sinon modélisée à partir de l'inventaire de la machine et de sa charge. Les impacts de fabrication et les "
        "facteurs d'émission de l'électricité suivent la <a href=\"https://doc.api.boavizta.org/\">méthodologie "
        "Boavizta</a> (boaviztapi %(version)s, <a href=\"https://github.com/Boavizta/boaviztapi\">source</a>) ; "
        "voir aussi docs/impact-model.md et docs/report.md de fleetprint. Les services reçoivent les impacts de "
        "leurs machines au prorata de leur temps processeur (docs/services.md). GWP : potentiel de réchauffement "
        "global (kgCO2e) ; ADPe : épuisement des ressources abiotiques, éléments (kgSbeq) ; PE : énergie primaire "
        "(MJ).",
    "electricity zone": "zone électrique",
    "factor source": "source du facteur",
    "samples": "mesures",
    "mean (gCO2e/kWh)": "moyenne (gCO2e/kWh)",
    "min (gCO2e/kWh)": "min (gCO2e/kWh)",
    "max (gCO2e/kWh)": "max (gCO2e/kWh)",
    "Factor sources: <em>boavizta</em>, the zone's yearly average in Boavizta's table; <em>site</em>, a contract "
    "factor configured for the site; <em>profile</em> and <em>live</em>, hourly intensities.":
        "Sources des facteurs : <em>boavizta</em>, la moyenne annuelle de la zone dans la table de Boavizta ; "
        "<em>site</em>, un facteur contractuel configuré pour le site ; <em>profile</em> et <em>live</em>, des "
        "intensités horaires.",
    "PUE seen per site (min–max):": "PUE observé par site (min–max) :",
    "Days and months are UTC; other times are in the reader's time zone (%(zone)s). Figures are read from the "
    "fleetprint InfluxDB database: per host from the daily host rollup (<code>fp_host_1d</code>) and the raw "
    "samples after it (for a service, its raw samples), per service, site and department from the hourly rollups "
    "(<code>fp_service_1h</code>) and the raw samples after them.":
        "Les jours et les mois sont en UTC ; les autres heures dans le fuseau du lecteur (%(zone)s). Les chiffres "
        "sont lus dans la base InfluxDB de fleetprint : par machine dans l'agrégat quotidien (<code>fp_host_1d</code>) "
        "et les mesures brutes après lui (pour un service, ses mesures brutes), par service, site et direction dans "
        "les agrégats horaires (<code>fp_service_1h</code>) et les mesures brutes après eux.",
})
SENTENCES.update({
    # render_text.py: the mail and webhook of a scheduled report
    "%(title)s: %(amount)s kgCO2e": "%(title)s : %(amount)s kgCO2e",
    "%(name)s: %(kg)s kgCO2e, %(share)s %%": "%(name)s : %(kg)s kgCO2e, %(share)s %%",
    "%(source)s: %(url)s": "%(source)s : %(url)s",
    "The full report, with its tables and methods: %(files)s.":
        "Le rapport complet, avec ses tableaux et ses méthodes : %(files)s.",
})
