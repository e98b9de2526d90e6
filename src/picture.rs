//! The picture of a neighbourhood on a person's or an organization's page: a small SVG drawn on
//! the server (no graph library in the browser), each node a link, with the same links as a
//! list beside it for readers who do not see the picture. The layout is radial: the page's
//! subject in the middle, the people around it on an ellipse, their organizations on a wider
//! one near their members. Colours are classes styled from the palette's custom properties in
//! app.css, so the picture follows dark mode.

use std::f64::consts::{FRAC_PI_2, TAU};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::people::{OrganizationRow, PersonRow};

/// Most people and organizations drawn around the subject: enough to see who matters, few
/// enough to read at phone width.
pub const MOST_PEOPLE: i64 = 8;
pub const MOST_ORGANIZATIONS: usize = 4;

/// The drawing's coordinate space (it scales to its box).
const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 380.0;
const CENTRE: (f64, f64) = (WIDTH / 2.0, HEIGHT / 2.0);
/// Radii of the people's ellipse and of the organizations' wider one.
const PEOPLE_RING: (f64, f64) = (165.0, 115.0);
const ORGANIZATION_RING: (f64, f64) = (215.0, 160.0);
/// Labels longer than this are shortened (the full name is in the link's label).
const LABEL_CHARS: usize = 18;

/// Someone met together with the page's person, most often first (a row of the person query).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Neighbour {
    pub id: Uuid,
    pub name: String,
    pub organization_id: Option<Uuid>,
    pub organization: Option<String>,
    /// Meetings with both of them, among the person's latest.
    pub together: i64,
}

/// Another organization whose people were in the organization's latest meetings.
#[derive(Debug, Deserialize)]
pub struct NearOrganization {
    pub id: Uuid,
    pub name: String,
    /// Meetings shared, among the organization's latest.
    pub together: i64,
}

/// A node: where it is drawn, what it links to, and what it says.
pub struct Node {
    pub x: f64,
    pub y: f64,
    /// `centre`, `person`, `you` or `organization` (its CSS class, `pic-<kind>`).
    pub kind: &'static str,
    pub href: String,
    /// The shortened label drawn under it.
    pub label: String,
    /// The whole name and what links it to the subject, for the link's label and the list.
    pub description: String,
}

impl Node {
    /// The label's baseline: under the node's mark.
    pub fn label_y(&self) -> f64 {
        self.y + 24.0
    }

    /// The mark's radius: the subject larger.
    pub fn radius(&self) -> f64 {
        if self.kind == "centre" { 14.0 } else { 9.0 }
    }
}

/// A line between two nodes; heavier for more meetings together.
pub struct Edge {
    pub x1: f64,
    pub y1: f64,
    pub x2: f64,
    pub y2: f64,
    pub width: f64,
    /// `met` (people met together) or `member` (a person's organization), its CSS class.
    pub kind: &'static str,
}

/// A drawn neighbourhood, ready for `picture.html`.
pub struct Picture {
    /// Names the drawing for assistive technology.
    pub title: String,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub view_box: String,
}

impl Picture {
    fn new(title: String) -> Picture {
        Picture {
            title,
            nodes: Vec::new(),
            edges: Vec::new(),
            view_box: format!("0 0 {WIDTH} {HEIGHT}"),
        }
    }

    /// The nodes around the subject: what the text alternative lists.
    pub fn around(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.kind != "centre")
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() <= 1
    }

    fn edge(&mut self, from: (f64, f64), to: (f64, f64), width: f64, kind: &'static str) {
        self.edges.push(Edge {
            x1: from.0,
            y1: from.1,
            x2: to.0,
            y2: to.1,
            width,
            kind,
        });
    }
}

/// A label that fits: the name's leading words that fit in [`LABEL_CHARS`] (or its first
/// characters). Never an ellipsis: what is drawn stays a part of the link's accessible name.
fn shorten(name: &str) -> String {
    if name.chars().count() <= LABEL_CHARS {
        return name.to_owned();
    }
    let mut label = String::new();
    for word in name.split_whitespace() {
        let longer = if label.is_empty() {
            word.to_owned()
        } else {
            format!("{label} {word}")
        };
        if longer.chars().count() > LABEL_CHARS {
            break;
        }
        label = longer;
    }
    if label.is_empty() {
        label = name.chars().take(LABEL_CHARS).collect();
    }
    label
}

/// Where the `i`-th of `n` places on an ellipse of `radii` is, starting at the top, clockwise.
fn on_ring(i: usize, n: usize, radii: (f64, f64)) -> (f64, f64) {
    angle_point(i as f64 * TAU / n.max(1) as f64, radii)
}

/// The point at `angle` (0 at the top, clockwise) on an ellipse of `radii` round the centre.
fn angle_point(angle: f64, (rx, ry): (f64, f64)) -> (f64, f64) {
    let a = angle - FRAC_PI_2;
    (CENTRE.0 + rx * a.cos(), CENTRE.1 + ry * a.sin())
}

/// Edge widths from 1 to 4 by meetings together, relative to the most.
fn weight(together: i64, most: i64) -> f64 {
    1.0 + 3.0 * together as f64 / most.max(1) as f64
}

/// Organizations placed on the outer ring, each at the average angle of its members (at most
/// [`MOST_ORGANIZATIONS`], those with the most members first): `(id, name, angle)`.
fn organizations_near(members: &[(Option<Uuid>, Option<String>, f64)]) -> Vec<(Uuid, String, f64)> {
    let mut found: Vec<(Uuid, String, Vec<f64>)> = Vec::new();
    for (id, name, angle) in members {
        let (Some(id), Some(name)) = (id, name) else {
            continue;
        };
        match found.iter_mut().find(|(o, _, _)| o == id) {
            Some((_, _, angles)) => angles.push(*angle),
            None => found.push((*id, name.clone(), vec![*angle])),
        }
    }
    found.sort_by_key(|(_, _, angles)| std::cmp::Reverse(angles.len()));
    found.truncate(MOST_ORGANIZATIONS);
    found
        .into_iter()
        .map(|(id, name, angles)| {
            // The mean direction of the members (angles wrap round, so average the vectors).
            let (x, y) = angles
                .iter()
                .fold((0.0, 0.0), |(x, y), a| (x + a.sin(), y + a.cos()));
            (id, name, x.atan2(y))
        })
        .collect()
}

/// A person's neighbourhood: who they meet with most (and those people's organizations), and
/// you, with what is open between you.
pub fn for_person(person: &PersonRow, i_owe: usize, neighbours: &[Neighbour]) -> Picture {
    let mut picture = Picture::new(format!("{} and the people they meet most", person.name));
    picture.nodes.push(Node {
        x: CENTRE.0,
        y: CENTRE.1,
        kind: "centre",
        href: format!("/people/{}", person.id),
        label: shorten(&person.name),
        description: person.name.clone(),
    });
    // You, at the top: the open items between you.
    let you = angle_point(0.0, PEOPLE_RING);
    let open = |n: usize, what: &str| match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    };
    picture.edge(CENTRE, you, 2.0, "met");
    picture.nodes.push(Node {
        x: you.0,
        y: you.1,
        kind: "you",
        href: "/action-items?filter=mine".into(),
        label: "You".into(),
        description: format!(
            "You: {} from {}, {} to {}",
            open(person.open_items.max(0) as usize, "open item"),
            person.name,
            open(i_owe, "open item"),
            person.name
        ),
    });
    let most = neighbours.iter().map(|n| n.together).max().unwrap_or(1);
    let mut members = Vec::new();
    for (i, n) in neighbours.iter().enumerate() {
        // The places after the top one, which is yours.
        let angle = (i + 1) as f64 * TAU / (neighbours.len() + 1) as f64;
        let at = angle_point(angle, PEOPLE_RING);
        members.push((n.organization_id, n.organization.clone(), angle));
        picture.edge(CENTRE, at, weight(n.together, most), "met");
        let meetings = match n.together {
            1 => "1 meeting".to_owned(),
            k => format!("{k} meetings"),
        };
        picture.nodes.push(Node {
            x: at.0,
            y: at.1,
            kind: "person",
            href: format!("/people/{}", n.id),
            label: shorten(&n.name),
            description: match &n.organization {
                Some(org) => format!("{} ({org}): {meetings} together", n.name),
                None => format!("{}: {meetings} together", n.name),
            },
        });
    }
    // Each person's mark, with their organization (the people follow the centre and you).
    let marks: Vec<((f64, f64), Option<Uuid>)> = picture.nodes[2..]
        .iter()
        .zip(&members)
        .map(|(node, (org, _, _))| ((node.x, node.y), *org))
        .collect();
    for (id, name, angle) in organizations_near(&members) {
        let at = angle_point(angle, ORGANIZATION_RING);
        for (mark, _) in marks.iter().filter(|(_, org)| *org == Some(id)) {
            picture.edge(*mark, at, 1.0, "member");
        }
        picture.nodes.push(Node {
            x: at.0,
            y: at.1,
            kind: "organization",
            href: format!("/organizations/{id}"),
            label: shorten(&name),
            description: format!("{name} (organization)"),
        });
    }
    picture
}

/// An organization's neighbourhood: its most met people with their open items, and the other
/// organizations met in the same meetings.
pub fn for_organization(
    organization: &OrganizationRow,
    people: &[PersonRow],
    near: &[NearOrganization],
) -> Picture {
    let mut picture = Picture::new(format!(
        "{}: its people and the organizations met with them",
        organization.name
    ));
    picture.nodes.push(Node {
        x: CENTRE.0,
        y: CENTRE.1,
        kind: "centre",
        href: format!("/organizations/{}", organization.id),
        label: shorten(&organization.name),
        description: organization.name.clone(),
    });
    let shown: Vec<&PersonRow> = people.iter().take(MOST_PEOPLE as usize).collect();
    let most = shown
        .iter()
        .map(|p| i64::from(p.meetings))
        .max()
        .unwrap_or(1);
    for (i, p) in shown.iter().enumerate() {
        let at = on_ring(i, shown.len(), PEOPLE_RING);
        picture.edge(CENTRE, at, weight(i64::from(p.meetings), most), "member");
        let open = match p.open_items {
            0 => String::new(),
            1 => ", 1 open item".into(),
            n => format!(", {n} open items"),
        };
        picture.nodes.push(Node {
            x: at.0,
            y: at.1,
            kind: "person",
            href: format!("/people/{}", p.id),
            label: shorten(&p.name),
            description: format!("{}: {} meetings{open}", p.name, p.meetings),
        });
    }
    let most = near.iter().map(|o| o.together).max().unwrap_or(1);
    let count = near.len().min(MOST_ORGANIZATIONS);
    for (i, o) in near.iter().take(MOST_ORGANIZATIONS).enumerate() {
        // Between the people, on the wider ring.
        let angle = (i as f64 + 0.5) * TAU / count as f64;
        let at = angle_point(angle, ORGANIZATION_RING);
        picture.edge(CENTRE, at, weight(o.together, most), "met");
        picture.nodes.push(Node {
            x: at.0,
            y: at.1,
            kind: "organization",
            href: format!("/organizations/{}", o.id),
            label: shorten(&o.name),
            description: format!(
                "{} (organization): in {} of the same meetings",
                o.name, o.together
            ),
        });
    }
    picture
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(name: &str) -> PersonRow {
        PersonRow {
            id: Uuid::new_v4(),
            name: name.into(),
            email: "x@example.com".into(),
            organization_id: None,
            organization: None,
            meetings: 3,
            open_items: 2,
            last_met: None,
        }
    }

    #[test]
    fn every_node_fits_in_the_drawing_and_links_somewhere() {
        let org = Uuid::new_v4();
        let neighbours: Vec<Neighbour> = (0..8)
            .map(|i| Neighbour {
                id: Uuid::new_v4(),
                name: format!("Person number {i} with a very long name"),
                organization_id: (i % 2 == 0).then_some(org),
                organization: (i % 2 == 0).then(|| "Globex".to_owned()),
                together: i + 1,
            })
            .collect();
        let picture = for_person(&person("Charles Babbage"), 1, &neighbours);
        // The centre, you, eight people, one organization.
        assert_eq!(picture.nodes.len(), 11);
        for node in &picture.nodes {
            assert!((0.0..=WIDTH).contains(&node.x) && (0.0..=HEIGHT).contains(&node.label_y()));
            assert!(node.href.starts_with('/'));
            assert!(node.label.chars().count() <= LABEL_CHARS);
        }
        // Four members link to their organization.
        assert_eq!(
            picture.edges.iter().filter(|e| e.kind == "member").count(),
            4
        );
        let you = &picture.nodes[1];
        assert_eq!(
            you.description,
            "You: 2 open items from Charles Babbage, 1 open item to Charles Babbage"
        );
    }

    #[test]
    fn nobody_around_is_an_empty_picture() {
        assert!(for_person(&person("Ada"), 0, &[]).nodes.len() == 2);
        let org = OrganizationRow {
            id: Uuid::new_v4(),
            name: "Globex".into(),
            domain: "globex.example".into(),
            people: 0,
        };
        assert!(for_organization(&org, &[], &[]).is_empty());
    }
}
